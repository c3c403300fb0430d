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

// Appends the summary of one account; `counts` are its eSIMs'. Unless `named`, the page's only
// account as it always was: <section id="summary">, whose links keep `query` but for the
// filter they set. When `named` (the page names its accounts, LandingNamesAccounts):
// <section class="summary account" id="summary-<name>" data-account="<name>"> headed by the
// name, each element id inside it prefixed (LandingAccountIdPrefix), its links filtering on the
// account as well.
void AppendLandingSummary(std::string& out, const LandingAccount& account, bool named,
                          const LandingContext& context, const FleetCounts& counts,
                          const LandingQuery& query);

// "account-<name>-" when `named`, else "": what the ids of an account's summary start with
// ("account-acme-api-up", "account-acme-summary-budget").
std::string LandingAccountIdPrefix(const LandingAccount& account, bool named);

}  // namespace esim
