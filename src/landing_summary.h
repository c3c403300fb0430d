// The summary at the top of the landing page: the API (up, refused credentials, a pause it
// imposed), the request budget used and left, the poll interval in force against the
// configured one, the balance, and the monitored eSIMs by lifecycle status and by the outcome
// of their latest live poll (each count a link to the filtered table); with a webhook receiver,
// its deliveries by outcome and when the newest one was applied.
// Pure functions: thread safe.
#pragma once

#include <string>

#include "landing_page.h"
#include "landing_query.h"
#include "landing_rows.h"
#include "state_store.h"

namespace esim {

// Appends <section id="summary">; its links keep `query` but for the filter they set.
void AppendLandingSummary(std::string& out, const StateSnapshot& snapshot,
                          const LandingContext& context, const FleetCounts& counts,
                          const LandingQuery& query);

}  // namespace esim
