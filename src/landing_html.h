// HTML building blocks shared by the parts of the landing page (landing_summary.cc,
// landing_page.cc): escaping, links that keep the query, status badges, relative times, usage
// bars. Each appends to `out`; every text that is not a fixed string is escaped.
// Pure functions: thread safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "landing_query.h"
#include "landing_rows.h"
#include "text.h"

namespace esim {

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);
void AppendHtmlEscaped(std::string& out, std::string_view text);

// The link to the page for `query`, HTML-escaped: "./" for the defaults, else "?...".
std::string LandingHref(const LandingQuery& query);

// <span class="st st-depleted">DEPLETED</span>: the lifecycle status in its colour; "unknown"
// while none is known, "st-other" for an undocumented one.
void AppendStatusBadge(std::string& out, std::string_view status);

// "12 min ago" with the UTC time as its title; `never` (muted) when `time` is 0.
void AppendTimeAgo(std::string& out, double time, double now, std::string_view never);

// A small bar filled to `ratio` (0..1), amber from the default warning threshold (0.8), red from
// the critical one (0.95). `css`: the bar's class ("bar", or "bar wide" to fill its line).
void AppendUsageBar(std::string& out, double ratio, std::string_view css = "bar");

// The lifecycle statuses to offer as filters: the documented ones, then up to 20 undocumented
// ones the fleet holds (a hostile API could send one per eSIM).
std::vector<std::string_view> StatusesToOffer(const FleetCounts& counts);

}  // namespace esim
