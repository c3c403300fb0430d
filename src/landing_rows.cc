#include "landing_rows.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

namespace esim {
namespace {

// ASCII only, without the locale lookup of std::tolower: it runs for every byte compared.
char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// `needle` is already lower case.
bool ContainsNoCase(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                     [](char a, char b) { return LowerAscii(a) == b; }) != haystack.end();
}

bool LessNoCase(std::string_view a, std::string_view b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](char x, char y) { return LowerAscii(x) < LowerAscii(y); });
}

// A number fit to sort by: NaN would break the sort's ordering, so it counts as missing.
std::optional<double> Finite(std::optional<double> value) {
  if (value && std::isnan(*value)) return std::nullopt;
  return value;
}

std::optional<double> Time(double unix_seconds) {
  return unix_seconds > 0 ? Finite(unix_seconds) : std::nullopt;
}

// The query's filters with the search text lowered once, not once per record.
class Filter {
 public:
  explicit Filter(const LandingQuery& query) : query_(query) {
    for (const char c : query.text) text_ += LowerAscii(c);
    if (const size_t equals = text_.find('='); equals != std::string::npos) {
      label_name_ = std::string_view(text_).substr(0, equals);
      label_value_ = std::string_view(text_).substr(equals + 1);
    }
  }

  bool Matches(const EsimRecord& record) const {
    if (!query_.account.empty() && record.config.account != query_.account) return false;
    if (!query_.status.empty() && LifecycleStatusOf(record) != query_.status) return false;
    if (query_.poll != PollFilter::kAny) {
      const LivePoll poll = LivePollOf(record);
      const PollFilter outcome =
          !poll.done ? PollFilter::kPending : (poll.ok ? PollFilter::kOk : PollFilter::kFailing);
      if (outcome != query_.poll) return false;
    }
    return MatchesText(record);
  }

 private:
  bool MatchesText(const EsimRecord& record) const {
    if (text_.empty()) return true;
    if (ContainsNoCase(record.config.name, text_) || ContainsNoCase(record.Iccid(), text_)) {
      return true;
    }
    if (const auto id = record.EsimId()) {
      char digits[24];
      const auto end = std::to_chars(digits, digits + sizeof digits, *id).ptr;
      if (ContainsNoCase(std::string_view(digits, end - digits), text_)) return true;
    }
    for (const auto& [name, value] : record.config.labels) {
      if (ContainsNoCase(name, text_) || ContainsNoCase(value, text_)) return true;
      // "site=syd": that label, its value containing the rest.
      if (label_name_ && name.size() == label_name_->size() && ContainsNoCase(name, *label_name_) &&
          ContainsNoCase(value, *label_value_)) {
        return true;
      }
    }
    return false;
  }

  const LandingQuery& query_;
  std::string text_;
  std::optional<std::string_view> label_name_, label_value_;
};

// Sorts `rows` by `key` (an optional per record): present keys by `less`, in the query's
// direction; missing ones last either way; ties keep store order, so pages never overlap.
template <typename KeyOf, typename Less>
void SortRows(const StateSnapshot& snapshot, std::vector<uint32_t>& rows, bool descending,
              KeyOf key_of, Less less) {
  using Key = typename std::invoke_result_t<KeyOf, const EsimRecord&>::value_type;
  std::vector<std::pair<std::optional<Key>, uint32_t>> keyed;
  keyed.reserve(rows.size());
  for (const uint32_t row : rows) keyed.emplace_back(key_of(*snapshot.esims[row]), row);
  std::sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    if (a.first.has_value() != b.first.has_value()) return a.first.has_value();
    if (a.first) {
      if (less(*a.first, *b.first)) return !descending;
      if (less(*b.first, *a.first)) return descending;
    }
    return a.second < b.second;
  });
  for (size_t i = 0; i < keyed.size(); ++i) rows[i] = keyed[i].second;
}

void SortRows(const StateSnapshot& snapshot, std::vector<uint32_t>& rows, LandingSort sort,
              bool descending) {
  auto by_number = [&](auto key_of) {
    SortRows(snapshot, rows, descending, key_of, std::less<double>());
  };
  auto text = [](std::string_view value) {
    return value.empty() ? std::nullopt : std::optional<std::string_view>(value);
  };
  switch (sort) {
    case LandingSort::kConfig:
      if (descending) std::reverse(rows.begin(), rows.end());
      return;
    case LandingSort::kAccount:
      // Ties (one account's eSIMs) keep store order: config order, then discovered ones.
      return SortRows(
          snapshot, rows, descending,
          [&](const EsimRecord& record) { return text(record.config.account); },
          std::less<std::string_view>());
    case LandingSort::kName:
      return SortRows(
          snapshot, rows, descending,
          [&](const EsimRecord& record) { return text(record.config.name); }, LessNoCase);
    case LandingSort::kIccid:
      return SortRows(
          snapshot, rows, descending,
          [&](const EsimRecord& record) { return text(record.Iccid()); },
          std::less<std::string_view>());
    case LandingSort::kStatus:
      return SortRows(
          snapshot, rows, descending,
          [&](const EsimRecord& record) { return text(LifecycleStatusOf(record)); },
          std::less<std::string_view>());
    case LandingSort::kEsimId:
      return SortRows(
          snapshot, rows, descending, [](const EsimRecord& record) { return record.EsimId(); },
          std::less<int64_t>());
    case LandingSort::kUsed:
      return by_number([](const EsimRecord& record) {
        return record.status ? Finite(record.status->used_bytes) : std::nullopt;
      });
    case LandingSort::kTotal:
      return by_number([](const EsimRecord& record) -> std::optional<double> {
        if (!record.status) return std::nullopt;
        if (!record.status->total_bytes) return std::numeric_limits<double>::infinity();
        return Finite(record.status->total_bytes);
      });
    case LandingSort::kUsedRatio:
      return by_number([](const EsimRecord& record) { return UsedRatioOf(record); });
    case LandingSort::kExpiry:
      return by_number([](const EsimRecord& record) {
        return record.status ? Finite(record.status->expiry_time) : std::nullopt;
      });
    case LandingSort::kLivePoll:
      // By the latest live poll, successful or not: the longest unpolled first.
      return by_number([](const EsimRecord& record) { return Time(record.last_live_time); });
    case LandingSort::kListed:
      return by_number([](const EsimRecord& record) { return Time(record.last_listed_time); });
    case LandingSort::kLastSuccess:
      return by_number([](const EsimRecord& record) { return Time(record.last_success_time); });
    case LandingSort::kLastEvent:
      return by_number([](const EsimRecord& record) { return Time(record.last_event_time); });
  }
}

}  // namespace

LivePoll LivePollOf(const EsimRecord& record) {
  LivePoll poll;
  poll.done = record.live_polled;
  poll.ok = record.last_live_ok;
  poll.time = record.last_live_time;
  poll.last_success_time = record.last_live_success_time;
  // Once a live poll finished, the record's outcome is the latest live poll's.
  if (poll.done) {
    poll.code = record.last_code;
    poll.message = record.last_message;
  }
  return poll;
}

std::string_view LifecycleStatusOf(const EsimRecord& record) {
  return record.status ? std::string_view(record.status->status) : std::string_view();
}

std::optional<double> UsedRatioOf(const EsimRecord& record) {
  if (!record.status || !record.status->total_bytes || !(*record.status->total_bytes > 0)) {
    return std::nullopt;
  }
  return Finite(record.status->used_bytes / *record.status->total_bytes);
}

LandingRows SelectLandingRows(const StateSnapshot& snapshot, const LandingQuery& query) {
  LandingRows result;
  const Filter filter(query);
  std::vector<uint32_t> rows;
  rows.reserve(snapshot.esims.size());
  for (size_t i = 0; i < snapshot.esims.size(); ++i) {
    if (filter.Matches(*snapshot.esims[i])) rows.push_back(static_cast<uint32_t>(i));
  }
  SortRows(snapshot, rows, query.sort, query.descending);

  const size_t per_page =
      static_cast<size_t>(std::clamp(query.per_page, 1, LandingQuery::kMaxPerPage));
  result.matching = rows.size();
  result.pages = static_cast<int>(std::max<size_t>(1, (rows.size() + per_page - 1) / per_page));
  result.page = std::clamp(query.page, 1, result.pages);
  const size_t begin = static_cast<size_t>(result.page - 1) * per_page;
  const size_t end = std::min(rows.size(), begin + per_page);
  result.rows.assign(rows.begin() + static_cast<std::ptrdiff_t>(begin),
                     rows.begin() + static_cast<std::ptrdiff_t>(end));
  return result;
}

FleetCounts CountFleet(const StateSnapshot& snapshot) {
  FleetCounts counts;
  for (const auto& record : snapshot.esims) {
    ++counts.monitored;
    if (record->discovered) ++counts.discovered;
    const std::string_view status = LifecycleStatusOf(*record);
    if (const auto found = counts.by_status.find(status); found != counts.by_status.end()) {
      ++found->second;
    } else {
      counts.by_status.emplace(std::string(status), 1);
    }
    const LivePoll poll = LivePollOf(*record);
    if (!poll.done) {
      ++counts.live_pending;
    } else if (poll.ok) {
      ++counts.live_ok;
    } else {
      ++counts.live_failing;
    }
  }
  return counts;
}

}  // namespace esim
