#include "read_retry.h"

#include <algorithm>

namespace esim {

ReadWait NextSweepWait(bool ok, int failures_in_a_row, ReadWait retry, ReadWait interval) {
  if (ok || failures_in_a_row <= 0) return interval;
  // 2^20 minutes is years: beyond that the interval has long been the bound.
  const int doublings = std::min(failures_in_a_row - 1, 20);
  return std::min(interval, retry * (int64_t{1} << doublings));
}

ReadWait NextReadWait(bool ok, ReadWait interval) {
  return ok ? interval : std::min<ReadWait>(interval, std::chrono::minutes(5));
}

}  // namespace esim
