// What every API answer teaches the parts shared by all callers (live polls, sweeps, balance):
// the outcome counter and latency histogram, esim_up and the X-RateLimit-* state, and the
// request budget's pauses (RATE_LIMIT_EXCEEDED, Retry-After, X-RateLimit-Remaining: 0).
#pragma once

#include "api_client.h"
#include "api_metrics.h"
#include "rate_budget.h"
#include "state_store.h"

namespace esim {

void RecordApiOutcome(const ApiResult& result, RateBudget& budget, StateStore& store,
                      ApiMetrics& metrics);

// Unix seconds now, from the system clock.
double WallNow();

}  // namespace esim
