// The human-readable page at "/": name, version, a link to /metrics, and a table of the
// monitored eSIMs with their last poll result.
#pragma once

#include <string>

#include "state_store.h"

namespace esim {

std::string RenderLandingPage(const StateSnapshot& snapshot, const std::string& telemetry_path,
                              double now);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

}  // namespace esim
