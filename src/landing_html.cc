#include "landing_html.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "esim_status.h"
#include "landing_format.h"

namespace esim {
namespace {

// The bar's colours follow the default alert thresholds.
constexpr double kUsageWarning = 0.8, kUsageCritical = 0.95;
constexpr size_t kMaxOtherStatuses = 20;

// The CSS class of a lifecycle status; only fixed strings, never text from the API.
std::string_view StatusClass(std::string_view status) {
  if (status.empty()) return "st st-unknown";
  if (status == "ACTIVE") return "st st-active";
  if (status == "NEW") return "st st-new";
  if (status == "DEPLETED") return "st st-depleted";
  if (status == "EXPIRED") return "st st-expired";
  if (status == "CANCELLED") return "st st-cancelled";
  if (status == "DELETED") return "st st-deleted";
  return "st st-other";
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendHtmlEscaped(out, text);
  return out;
}

void AppendHtmlEscaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
}

std::string LandingHref(const LandingQuery& query) {
  const std::string query_string = LandingQueryString(query);
  return HtmlEscape(query_string.empty() ? "./" : query_string);
}

void AppendStatusBadge(std::string& out, std::string_view status) {
  out += "<span class=\"";
  out += StatusClass(status);
  out += "\">";
  if (status.empty()) {
    out += "unknown";
  } else {
    AppendHtmlEscaped(out, status);
  }
  out += "</span>";
}

void AppendTimeAgo(std::string& out, double time, double now, std::string_view never) {
  if (time <= 0) {
    out += "<span class=\"muted\">";
    out += never;
    out += "</span>";
    return;
  }
  out += "<span class=\"nowrap\" title=\"";
  out += FormatUtcDateTime(time);
  out += "\">";
  out += FormatRelative(time, now);
  out += "</span>";
}

void AppendUsageBar(std::string& out, double ratio, std::string_view css) {
  const double clamped = std::clamp(std::isfinite(ratio) ? ratio : 0.0, 0.0, 1.0);
  char width[32];
  std::snprintf(width, sizeof width, "%.0f%%", clamped * 100);
  out += "<span class=\"";
  out += css;
  out += "\"><span class=\"";
  out += ratio >= kUsageCritical ? "crit" : (ratio >= kUsageWarning ? "warn" : "fill");
  out += "\" style=\"width:";
  out += width;
  out += "\"></span></span> ";
}

std::vector<std::string_view> StatusesToOffer(const FleetCounts& counts) {
  std::vector<std::string_view> statuses(kLifecycleStatuses.begin(), kLifecycleStatuses.end());
  size_t others = 0;
  for (const auto& [status, count] : counts.by_status) {
    if (status.empty() || std::find(kLifecycleStatuses.begin(), kLifecycleStatuses.end(), status) !=
                              kLifecycleStatuses.end()) {
      continue;
    }
    if (++others > kMaxOtherStatuses) break;
    statuses.push_back(status);
  }
  return statuses;
}

}  // namespace esim
