// What every API answer teaches the parts shared by all callers (live polls, sweeps, balance):
// the outcome counter and latency histogram, esim_up and the X-RateLimit-* state, refused
// credentials, and the request budget's pauses (RATE_LIMIT_EXCEEDED, Retry-After,
// X-RateLimit-Remaining: 0). Each pause the API imposes is logged once (warn) with its end and
// cause, and recorded in the StateStore (esim_api_paused_until_timestamp_seconds).
// Thread safe: the budget, store and metrics are.
#pragma once

#include <chrono>

#include "api_client.h"
#include "api_metrics.h"
#include "rate_budget.h"
#include "state_store.h"

namespace esim {

void RecordApiOutcome(const ApiResult& result, RateBudget& budget, StateStore& store,
                      ApiMetrics& metrics);

// The same at the given time: `wall_now` in Unix seconds and the steady clock's `steady_now`
// (tests inject both).
void RecordApiOutcome(const ApiResult& result, RateBudget& budget, StateStore& store,
                      ApiMetrics& metrics, double wall_now,
                      std::chrono::steady_clock::time_point steady_now);

// Unix seconds now, from the system clock.
double WallNow();

// "2026-06-26T14:34:40Z" for Unix seconds (fraction dropped), for log lines.
std::string FormatIso8601Utc(double unix_seconds);

}  // namespace esim
