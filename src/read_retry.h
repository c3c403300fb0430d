// When the inventory's periodic reads (sweeps, balance, webhook subscription) run next, as pure
// functions of their outcome: a failed read is retried sooner than the interval, one request per
// attempt and never in a tight loop. The Inventory thread applies them; tests simulate time.
#pragma once

#include <chrono>

namespace esim {

using ReadWait = std::chrono::milliseconds;

// The wait after a sweep: `interval` after a success; after the `failures_in_a_row`-th failure,
// `retry` doubled for each earlier failure, at most `interval`.
ReadWait NextSweepWait(bool ok, int failures_in_a_row, ReadWait retry, ReadWait interval);

// The wait after a balance or subscription read: `interval` after a success, else the smaller of
// `interval` and 5 minutes.
ReadWait NextReadWait(bool ok, ReadWait interval);

}  // namespace esim
