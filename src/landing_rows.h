// Which eSIMs the landing page lists and in which order: the query's filters, sort and page
// applied to a snapshot through positions, so a fleet of 10,000 costs a vector of integers, not
// copies of records. Also the fleet counts of the page's summary, and the few facts of a record
// both need (its latest live poll, its used share).
// Pure functions of their arguments: thread safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "landing_query.h"
#include "state_store.h"

namespace esim {

// The latest live-status poll of one eSIM (inventory sweeps are not live polls).
struct LivePoll {
  bool done = false;             // one has finished, successful or not
  bool ok = false;               // the latest one succeeded
  double time = 0;               // Unix seconds of the latest one; 0: none
  double last_success_time = 0;  // Unix seconds of the latest successful one; 0: none
  std::string_view code;         // the latest one's outcome: "OK", or an error code
  std::string_view message;      // the API's text for a failure
};
LivePoll LivePollOf(const EsimRecord& record);

// The lifecycle status as last observed; empty while none is known.
std::string_view LifecycleStatusOf(const EsimRecord& record);

// Used over total (may exceed 1); nullopt for unlimited plans and while unknown.
std::optional<double> UsedRatioOf(const EsimRecord& record);

struct LandingRows {
  std::vector<uint32_t> rows;  // the page's rows: positions in snapshot.esims, in display order
  size_t matching = 0;         // eSIMs that pass the filters, over all pages
  int page = 1;                // the query's page, clamped to [1, pages]
  int pages = 1;               // at least 1, also when nothing matches
};

// Filters (account, status, poll, text), sorts (missing values last in either order, ties in
// store order) and cuts out the query's page. The account is each record's config.account; a
// snapshot holding several accounts' eSIMs lists them account by account (the default order).
LandingRows SelectLandingRows(const StateSnapshot& snapshot, const LandingQuery& query);

struct FleetCounts {
  size_t monitored = 0;
  size_t discovered = 0;  // of which found by inventory discovery
  // Lifecycle status -> eSIMs in it; "" counts those whose status is not known yet.
  std::map<std::string, size_t, std::less<>> by_status;
  size_t live_ok = 0, live_failing = 0, live_pending = 0;  // by their latest live poll
};
FleetCounts CountFleet(const StateSnapshot& snapshot);

}  // namespace esim
