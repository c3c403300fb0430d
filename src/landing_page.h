// The human-readable page at "/": the summary of each account (landing_summary.h) above a filter
// form, one page of the eSIM table and the pager, the rows chosen by the query (landing_query.h,
// landing_rows.h). Only the page's rows are rendered, so the page stays small and cheap for
// fleets of 10,000 eSIMs.
// The eSIM's lifecycle (status colour: ACTIVE green, DEPLETED and EXPIRED red and amber,
// CANCELLED and DELETED grey) is kept apart from the outcome of its latest live poll, which is
// never green: a depleted eSIM that answers its poll is not "OK".
// Every text from the config or the API is HTML-escaped. Pure functions: thread safe.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "landing_html.h"  // HtmlEscape
#include "landing_query.h"
#include "rate_budget.h"
#include "state_store.h"

namespace esim {

// One account (API key) as the page shows it: its eSIMs and state, and what its own budget and
// poller report.
struct LandingAccount {
  std::string name;  // accounts[].name; empty: the unnamed account (no heading, no column)
  std::shared_ptr<const StateSnapshot> snapshot;          // null reads as an empty one
  std::optional<RateBudget::Usage> budget;                // requests sent in the sliding windows
  std::chrono::milliseconds poll_interval{0};             // per-eSIM live interval in force
  std::chrono::milliseconds configured_poll_interval{0};  // poll.interval in the config
  bool inventory_enabled = false;
};

// What the page shows beyond the accounts.
struct LandingContext {
  std::string telemetry_path = "/metrics";
  double now = 0;  // Unix seconds
};

// True when the page names its accounts: several of them, or one with a name. A single unnamed
// account renders as the page always has (no account headings, no Account column).
bool LandingNamesAccounts(const std::vector<LandingAccount>& accounts);

// `accounts` in config order: one summary per account (headed by its name when the page names
// accounts), then the table of all accounts' eSIMs, grouped by account in the default order.
std::string RenderLandingPage(const std::vector<LandingAccount>& accounts,
                              const LandingContext& context, const LandingQuery& query = {});

}  // namespace esim
