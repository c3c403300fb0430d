#include "landing_query.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "text.h"

namespace esim {
namespace {

constexpr std::array<std::pair<LandingSort, std::string_view>, 14> kSortNames = {{
    {LandingSort::kConfig, "config"},
    {LandingSort::kAccount, "account"},
    {LandingSort::kName, "name"},
    {LandingSort::kIccid, "iccid"},
    {LandingSort::kEsimId, "esim_id"},
    {LandingSort::kStatus, "status"},
    {LandingSort::kUsed, "used"},
    {LandingSort::kTotal, "total"},
    {LandingSort::kUsedRatio, "used_pct"},
    {LandingSort::kExpiry, "expiry"},
    {LandingSort::kLivePoll, "live_poll"},
    {LandingSort::kListed, "listed"},
    {LandingSort::kLastSuccess, "last_success"},
    {LandingSort::kLastEvent, "last_event"},
}};

const std::string* First(const QueryParams& params, const std::string& name) {
  const auto found = params.find(name);
  return found == params.end() ? nullptr : &found->second;
}

// A decimal integer of digits only; values beyond `max` read as `max`, so a huge page number
// still lands on the last page. nullopt for anything else (signs, spaces, letters, empty).
std::optional<int> ParseCount(std::string_view text, int max) {
  text = TrimAsciiSpace(text);
  if (text.empty()) return std::nullopt;
  long long value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = std::min<long long>(value * 10 + (c - '0'), max);
  }
  return static_cast<int>(value);
}

// At most `max_bytes`, cut at a character boundary of UTF-8 text; control characters (which
// no name or label holds) become spaces.
std::string CleanText(std::string_view text, size_t max_bytes) {
  std::string spaced(text);  // bounded by the server's limit on the request line
  for (char& c : spaced) {
    if (IsAsciiControl(c)) c = ' ';
  }
  std::string_view kept = TrimAsciiSpace(spaced);
  if (kept.size() > max_bytes) {
    size_t end = max_bytes;
    while (end > 0 && (static_cast<unsigned char>(kept[end]) & 0xC0) == 0x80) --end;
    kept = TrimAsciiSpace(kept.substr(0, end));
  }
  return std::string(kept);
}

// Upper case [A-Z0-9_]+ of bounded length (every status the API documents, and undocumented
// ones of the same shape); nullopt otherwise.
std::optional<std::string> ParseStatus(std::string_view text) {
  text = TrimAsciiSpace(text);
  if (text.empty() || text.size() > LandingQuery::kMaxStatusBytes) return std::nullopt;
  std::string out;
  for (const char c : text) {
    const char upper = AsciiUpper(c);
    if (!((upper >= 'A' && upper <= 'Z') || (upper >= '0' && upper <= '9') || upper == '_')) {
      return std::nullopt;
    }
    out += upper;
  }
  if (out == "ALL") return std::nullopt;
  return out;
}

// An account name as the config allows it (docs/contract.md): a lowercase letter, then up to 62
// lowercase letters, digits, '_' and '-'. Read in any case; nullopt for anything else, so the
// filter can only ever hold a name the page may repeat.
std::optional<std::string> ParseAccount(std::string_view text) {
  const std::string name = AsciiLower(TrimAsciiSpace(text));
  if (name.empty() || name.size() > LandingQuery::kMaxAccountBytes) return std::nullopt;
  if (name.front() < 'a' || name.front() > 'z') return std::nullopt;
  for (const char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      return std::nullopt;
    }
  }
  return name;
}

void AppendEncoded(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
}

}  // namespace

std::string_view LandingSortName(LandingSort sort) {
  for (const auto& [value, name] : kSortNames) {
    if (value == sort) return name;
  }
  return "config";
}

std::optional<LandingSort> ParseLandingSort(std::string_view name) {
  const std::string lower = AsciiLower(TrimAsciiSpace(name));
  for (const auto& [value, known] : kSortNames) {
    if (known == lower) return value;
  }
  return std::nullopt;
}

bool DescendingByDefault(LandingSort sort) {
  return sort == LandingSort::kUsed || sort == LandingSort::kTotal ||
         sort == LandingSort::kUsedRatio;
}

std::string_view PollFilterName(PollFilter filter) {
  switch (filter) {
    case PollFilter::kOk:
      return "ok";
    case PollFilter::kFailing:
      return "failing";
    case PollFilter::kPending:
      return "pending";
    case PollFilter::kAny:
      break;
  }
  return "";
}

LandingQuery ParseLandingQuery(const QueryParams& params) {
  LandingQuery query;
  if (const std::string* page = First(params, "page")) {
    query.page = std::max(1, ParseCount(*page, LandingQuery::kMaxPage).value_or(1));
  }
  if (const std::string* per_page = First(params, "per_page")) {
    const int value = ParseCount(*per_page, LandingQuery::kMaxPerPage).value_or(0);
    if (value > 0) query.per_page = value;
  }
  if (const std::string* sort = First(params, "sort")) {
    query.sort = ParseLandingSort(*sort).value_or(LandingSort::kConfig);
  }
  query.descending = DescendingByDefault(query.sort);
  if (const std::string* order = First(params, "order")) {
    const std::string lower = AsciiLower(TrimAsciiSpace(*order));
    if (lower == "asc") query.descending = false;
    if (lower == "desc") query.descending = true;
  }
  if (const std::string* account = First(params, "account")) {
    query.account = ParseAccount(*account).value_or("");
  }
  if (const std::string* status = First(params, "status")) {
    query.status = ParseStatus(*status).value_or("");
  }
  if (const std::string* poll = First(params, "poll")) {
    const std::string lower = AsciiLower(TrimAsciiSpace(*poll));
    for (const PollFilter filter : {PollFilter::kOk, PollFilter::kFailing, PollFilter::kPending}) {
      if (lower == PollFilterName(filter)) query.poll = filter;
    }
  }
  if (const std::string* text = First(params, "q")) {
    query.text = CleanText(*text, LandingQuery::kMaxTextBytes);
  }
  return query;
}

std::string LandingQueryString(const LandingQuery& query) {
  std::string out;
  auto add = [&out](std::string_view name, std::string_view value) {
    out += out.empty() ? '?' : '&';
    out += name;
    out += '=';
    AppendEncoded(out, value);
  };
  if (query.sort != LandingSort::kConfig) add("sort", LandingSortName(query.sort));
  if (query.descending != DescendingByDefault(query.sort)) {
    add("order", query.descending ? "desc" : "asc");
  }
  if (!query.account.empty()) add("account", query.account);
  if (!query.status.empty()) add("status", query.status);
  if (query.poll != PollFilter::kAny) add("poll", PollFilterName(query.poll));
  if (!query.text.empty()) add("q", query.text);
  if (query.per_page != LandingQuery::kDefaultPerPage) {
    add("per_page", std::to_string(query.per_page));
  }
  if (query.page != 1) add("page", std::to_string(query.page));
  return out;
}

}  // namespace esim
