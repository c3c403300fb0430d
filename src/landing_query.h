// The landing page's query parameters, e.g.
//   /?page=2&per_page=100&sort=expiry&order=asc&account=acme&status=ACTIVE&poll=failing&q=syd
// parsed leniently: a missing, unknown or malformed value falls back to its default, so every
// URL renders a page (never an error page, never unbounded output). LandingQueryString writes a
// query back, so that paging and sorting links keep the other parameters.
// Plain value types and pure functions: thread safe.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace esim {

// The table's sortable columns. kConfig: account by account (in config order), each account's
// configured eSIMs in config order, then its discovered ones (the store's order).
enum class LandingSort {
  kConfig,
  kAccount,
  kName,
  kIccid,
  kEsimId,
  kStatus,
  kUsed,
  kTotal,
  kUsedRatio,
  kExpiry,
  kLivePoll,  // by the latest successful live poll: the oldest live data first
  kListed,    // by the latest listing in an inventory sweep
  kLastSuccess,
  kLastEvent,  // by the observation behind the newest applied webhook event
};

// Rows by the outcome of their latest live-status poll.
enum class PollFilter {
  kAny,
  kOk,       // the latest live poll succeeded
  kFailing,  // the latest live poll failed
  kPending,  // no live poll has finished yet
};

struct LandingQuery {
  static constexpr int kDefaultPerPage = 100;
  static constexpr int kMaxPerPage = 1000;
  static constexpr int kMaxPage = 1000000;
  static constexpr size_t kMaxTextBytes = 200;
  static constexpr size_t kMaxStatusBytes = 32;
  static constexpr size_t kMaxAccountBytes = 63;  // the longest account name the config allows

  int page = 1;  // 1-based; the renderer clamps it to the last page
  int per_page = kDefaultPerPage;
  LandingSort sort = LandingSort::kConfig;
  bool descending = false;
  std::string account;  // keep the eSIMs of this account (a valid account name); empty: all
  std::string status;   // keep eSIMs in this lifecycle status (upper case); empty: all
  PollFilter poll = PollFilter::kAny;
  std::string text;  // keep eSIMs whose name, ICCID, eSIM id or a label contains it (any case)

  bool operator==(const LandingQuery&) const = default;
};

// The request's query parameters as cpp-httplib hands them over (already percent-decoded).
using QueryParams = std::multimap<std::string, std::string>;

// The first value of each known parameter counts; unknown parameters are ignored.
LandingQuery ParseLandingQuery(const QueryParams& params);

// "?sort=expiry&q=syd": the parameters that differ from their defaults, percent-encoded; empty
// when none does. Not HTML-escaped (HtmlEscape it inside an attribute).
std::string LandingQueryString(const LandingQuery& query);

// "account", "name", "iccid", "esim_id", "status", "used", "total", "used_pct", "expiry",
// "live_poll", "listed", "last_success", "last_event"; "config" for kConfig.
std::string_view LandingSortName(LandingSort sort);
std::optional<LandingSort> ParseLandingSort(std::string_view name);
// The order a column sorts in when its header is first clicked: amounts largest first, the rest
// smallest (or oldest) first.
bool DescendingByDefault(LandingSort sort);

// "ok", "failing", "pending"; "" for kAny.
std::string_view PollFilterName(PollFilter filter);

}  // namespace esim
