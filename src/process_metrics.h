// The standard process_* metrics (CPU, memory, file descriptors, start time) read from /proc,
// named as every Prometheus client library names them.
#pragma once

#include "exposition.h"

namespace esim {

void WriteProcessMetrics(ExpositionWriter& writer);

}  // namespace esim
