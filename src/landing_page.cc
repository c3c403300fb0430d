#include "landing_page.h"

#include <algorithm>
#include <array>
#include <optional>

#include "landing_format.h"
#include "landing_html.h"
#include "landing_rows.h"
#include "landing_summary.h"
#include "version.h"

namespace esim {
namespace {

constexpr double kDay = 86400;
// An eSIM expired or depleted longer ago than this is retired: the alert rules ignore it, the
// table greys it out.
constexpr double kRetiredAfter = 7 * kDay;
constexpr double kExpirySoon = 7 * kDay;
// Bounds on text from the API that the page repeats (a failure's message).
constexpr size_t kMaxMessageBytes = 200;

constexpr char kStyle[] = R"css(
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--soft:#f6f8fa;--good:#1a7f37;--bad:#cf222e;
--warn:#9a6700;--link:#0969da}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;
color:var(--fg);background:#fff}
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
header.top{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 16px;padding:12px 24px;
background:var(--soft);border-bottom:1px solid var(--line)}
header.top h1{font-size:20px;margin:0}
header.top nav{margin-left:auto;display:flex;gap:16px}
main{padding:16px 24px 32px}
.summary{display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:12px;
margin-bottom:20px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.card h2{margin:0 0 6px;font-size:12px;font-weight:600;letter-spacing:.05em;
text-transform:uppercase;color:var(--muted)}
.card p{margin:4px 0}
.big{font-size:22px;font-weight:600}
.good{color:var(--good)}.bad{color:var(--bad)}.warn{color:var(--warn)}
.muted,small{color:var(--muted)}
.alert{margin:6px 0;padding:5px 8px;border-radius:6px;font-size:13px}
.alert.bad{background:#ffebe9;color:#82071e}.alert.warn{background:#fff8c5;color:#6c4400}
.window{margin:2px 0 8px;font-size:13px}
.line{display:flex;align-items:center;justify-content:space-between;gap:8px;white-space:nowrap}
.bar.wide{flex:1;width:auto}
ul.counts{list-style:none;margin:6px 0;padding:0;display:flex;flex-wrap:wrap;gap:4px 10px}
.bar{display:inline-block;width:44px;height:6px;border-radius:3px;background:#eaeef2;
vertical-align:middle;overflow:hidden}
.bar>span{display:block;height:100%;background:#54aeff}
.bar>span.warn{background:#d4a72c}.bar>span.crit{background:#cf222e}
form.filters{display:flex;flex-wrap:wrap;align-items:center;gap:8px;margin:0 0 8px}
form.filters input[type=search]{width:320px;max-width:100%}
form.filters input,form.filters select,form.filters button{font:inherit;padding:4px 8px;
border:1px solid var(--line);border-radius:6px;background:#fff}
form.filters button{background:var(--soft);cursor:pointer}
.showing{margin:4px 0 8px;color:var(--muted)}
table.esims{width:100%;border-collapse:collapse;font-size:13px}
table.esims th{position:sticky;top:0;z-index:1;background:var(--soft);text-align:left;
padding:6px 8px;border-bottom:2px solid var(--line);white-space:nowrap}
table.esims th a{color:var(--fg)}table.esims th.sorted a{color:var(--link)}
table.esims td{padding:5px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
table.esims tbody tr:nth-child(even){background:#fbfcfd}
table.esims tbody tr:hover{background:#f1f5f9}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.nowrap{white-space:nowrap}
.st{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;
line-height:18px;white-space:nowrap}
.st-active{background:#dafbe1;color:#116329}.st-new{background:#ddf4ff;color:#0550ae}
.st-depleted{background:#ffebe9;color:#a40e26}.st-expired{background:#fff1e5;color:#953800}
.st-cancelled,.st-deleted{background:#eaeef2;color:#57606a}
.st-other{background:#fff8c5;color:#6c4400}.st-unknown{color:var(--muted);font-weight:400}
.poll-ok{color:var(--muted)}.poll-fail{color:var(--bad)}.poll-fail .code{font-weight:600}
.poll-pending{color:var(--muted);font-style:italic}
.msg{max-width:180px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-size:12px}
.exp-past{color:var(--bad)}.exp-soon{color:var(--warn);font-weight:600}
.label{display:inline-block;max-width:220px;margin:0 3px 2px 0;padding:0 5px;
border:1px solid var(--line);border-radius:4px;background:var(--soft);font-size:11px;
overflow-wrap:break-word}
.name{max-width:190px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.tag{margin-left:4px;font-size:11px;color:var(--muted)}
tr.retired td{color:#8c959f}tr.retired .st{opacity:.75}
.pager{display:flex;flex-wrap:wrap;align-items:center;gap:4px;margin:12px 0}
.pager a,.pager span.page{min-width:32px;padding:3px 9px;border:1px solid var(--line);
border-radius:6px;text-align:center}
.pager span.current{background:var(--link);border-color:var(--link);color:#fff}
.pager .gap{padding:0 4px;color:var(--muted)}
.pager .of{margin-left:8px;color:var(--muted)}
.empty{padding:24px;text-align:center;color:var(--muted)}
)css";

// Only on a page that names its accounts (the page of one unnamed account stays as it was).
constexpr char kAccountStyle[] = R"css(
.summary.account{margin-bottom:14px}
.summary>h2.account-name{grid-column:1/-1;margin:6px 0 0;font-size:16px}
.summary>h2.account-name a{color:var(--fg)}
table.esims td.account{white-space:nowrap;font-weight:600}
table.esims tr.group th{position:static;background:#fff;border-bottom:1px solid var(--line);padding:10px 8px 4px;
font-size:14px;text-align:left}
)css";

// Retired as the alert rules see it (esim:retired): cancelled, deleted, or expired or depleted
// more than a week ago. Such an eSIM raises no alert; the table greys it out.
bool IsRetired(const EsimStatus& status, double now) {
  const auto long_ago = [now](const std::optional<double>& when) {
    return when && *when < now - kRetiredAfter;
  };
  if (status.status == "CANCELLED" || status.status == "DELETED") return true;
  if (status.status == "EXPIRED") {
    if (status.expiry_time) return long_ago(status.expiry_time);
    return !status.last_usage_time || long_ago(status.last_usage_time);
  }
  if (status.status == "DEPLETED") {
    // The last usage comes from live polls only: an eSIM seen only through sweeps has none, and
    // then only an old expiry date says that it is history.
    if (status.last_usage_time) return long_ago(status.last_usage_time);
    return long_ago(status.expiry_time);
  }
  return false;
}

void AppendOption(std::string& out, std::string_view value, std::string_view label, bool selected) {
  out += "<option value=\"";
  AppendHtmlEscaped(out, value);
  out += selected ? "\" selected>" : "\">";
  AppendHtmlEscaped(out, label);
  out += "</option>";
}

void AppendFilterForm(std::string& out, const LandingQuery& query, const FleetCounts& counts,
                      const std::vector<LandingAccount>& accounts, bool named) {
  out += "<form class=\"filters\" method=\"get\" id=\"filters\">";
  out +=
      "<input type=\"search\" name=\"q\" placeholder=\"Name, ICCID, eSIM id or label "
      "(site=syd)\" aria-label=\"Search\" value=\"";
  AppendHtmlEscaped(out, query.text);
  out += "\">";
  if (named) {
    out += "<select name=\"account\" aria-label=\"Account\">";
    AppendOption(out, "", "any account", query.account.empty());
    bool offered = query.account.empty();
    for (const LandingAccount& account : accounts) {
      if (account.name.empty()) continue;  // the filter cannot name the unnamed account
      AppendOption(out, account.name, account.name, account.name == query.account);
      offered = offered || account.name == query.account;
    }
    if (!offered) AppendOption(out, query.account, query.account, true);
    out += "</select>";
  }
  out += "<select name=\"status\" aria-label=\"Status\">";
  AppendOption(out, "", "any status", query.status.empty());
  bool offered = query.status.empty();
  for (const std::string_view status : StatusesToOffer(counts)) {
    AppendOption(out, status, status, status == query.status);
    offered = offered || status == query.status;
  }
  if (!offered) AppendOption(out, query.status, query.status, true);
  out += "</select><select name=\"poll\" aria-label=\"Live poll\">";
  AppendOption(out, "", "any live poll", query.poll == PollFilter::kAny);
  AppendOption(out, "failing", "live poll failing", query.poll == PollFilter::kFailing);
  AppendOption(out, "ok", "live poll OK", query.poll == PollFilter::kOk);
  AppendOption(out, "pending", "no live poll yet", query.poll == PollFilter::kPending);
  out += "</select><select name=\"per_page\" aria-label=\"Rows per page\">";
  bool listed = false;
  for (const int size : {25, 50, 100, 250, 500, 1000}) {
    listed = listed || size == query.per_page;
    AppendOption(out, std::to_string(size), std::to_string(size) + " per page",
                 size == query.per_page);
  }
  if (!listed) {
    AppendOption(out, std::to_string(query.per_page), std::to_string(query.per_page) + " per page",
                 true);
  }
  out += "</select>";
  if (query.sort != LandingSort::kConfig) {
    out += "<input type=\"hidden\" name=\"sort\" value=\"";
    out += LandingSortName(query.sort);
    out += "\"><input type=\"hidden\" name=\"order\" value=\"";
    out += query.descending ? "desc" : "asc";
    out += "\">";
  }
  out += "<button type=\"submit\">Apply</button> <a href=\"./\">Reset</a></form>\n";
}

struct Column {
  std::string_view title;
  std::optional<LandingSort> sort;
  std::string_view css_class;
  bool webhook_only = false;   // shown only when a webhook receiver is configured
  bool accounts_only = false;  // shown only when the page names its accounts
};

constexpr std::array<Column, 14> kColumns = {{
    {"Account", LandingSort::kAccount, "", false, true},
    {"Name", LandingSort::kName, ""},
    {"ICCID", LandingSort::kIccid, ""},
    {"eSIM id", LandingSort::kEsimId, "num"},
    {"Status", LandingSort::kStatus, ""},
    {"Used", LandingSort::kUsed, "num"},
    {"Total", LandingSort::kTotal, "num"},
    {"Used %", LandingSort::kUsedRatio, ""},
    {"Expires", LandingSort::kExpiry, ""},
    {"Live poll", LandingSort::kLivePoll, ""},
    {"Listed", LandingSort::kListed, ""},
    {"Last success", LandingSort::kLastSuccess, ""},
    {"Last event", LandingSort::kLastEvent, "", true},
    {"Labels", std::nullopt, ""},
}};

bool Visible(const Column& column, bool webhooks, bool named) {
  return (webhooks || !column.webhook_only) && (named || !column.accounts_only);
}

size_t VisibleColumns(bool webhooks, bool named) {
  return static_cast<size_t>(std::count_if(kColumns.begin(), kColumns.end(), [&](const Column& c) {
    return Visible(c, webhooks, named);
  }));
}

void AppendHeader(std::string& out, const LandingQuery& query, bool webhooks, bool named) {
  out += "<thead><tr>";
  for (const Column& column : kColumns) {
    if (!Visible(column, webhooks, named)) continue;
    const bool sorted = column.sort && *column.sort == query.sort;
    out += "<th";
    if (column.sort) {
      out += " data-sort=\"";
      out += LandingSortName(*column.sort);
      out += "\"";
    }
    if (sorted) {
      out += query.descending ? " class=\"sorted\" aria-sort=\"descending\""
                              : " class=\"sorted\" aria-sort=\"ascending\"";
    }
    out += ">";
    if (!column.sort) {
      out += column.title;
      out += "</th>";
      continue;
    }
    LandingQuery resorted = query;
    resorted.sort = *column.sort;
    resorted.descending = sorted ? !query.descending : DescendingByDefault(*column.sort);
    resorted.page = 1;
    out += "<a href=\"";
    out += LandingHref(resorted);
    out += "\">";
    out += column.title;
    if (sorted) out += query.descending ? " ▼" : " ▲";
    out += "</a></th>";
  }
  out += "</tr></thead>\n";
}

void AppendLivePoll(std::string& out, const EsimRecord& record, double now) {
  const LivePoll poll = LivePollOf(record);
  if (!poll.done) {
    out += "<td class=\"poll poll-pending\">not yet</td>";
    return;
  }
  if (poll.ok) {
    out += "<td class=\"poll poll-ok\"><span class=\"code\">OK</span> <small>";
    AppendTimeAgo(out, poll.last_success_time, now, "");
    out += "</small></td>";
    return;
  }
  out += "<td class=\"poll poll-fail\"><span class=\"code\">";
  AppendHtmlEscaped(out, TruncateUtf8(poll.code, 64));
  out += "</span> <small>";
  AppendTimeAgo(out, poll.time, now, "");
  if (poll.last_success_time > 0) {
    out += ", last OK ";
    AppendTimeAgo(out, poll.last_success_time, now, "");
  } else {
    out += ", never OK";
  }
  out += "</small>";
  if (!poll.message.empty()) {
    const std::string message = TruncateUtf8(poll.message, kMaxMessageBytes);
    out += "<div class=\"msg\" title=\"";
    AppendHtmlEscaped(out, message);
    out += "\">";
    AppendHtmlEscaped(out, message);
    out += "</div>";
  }
  out += "</td>";
}

// When a sweep last listed it; flagged when a complete sweep since did not.
void AppendListed(std::string& out, const EsimRecord& record, double now) {
  out += "<td>";
  AppendTimeAgo(out, record.last_listed_time, now, "never");
  if (record.last_listed_time > 0 && !record.last_list_ok) {
    out += "<div class=\"warn\"><small>not in the latest sweep</small></div>";
  }
  out += "</td>";
}

void AppendExpiry(std::string& out, const EsimStatus* status, bool retired, double now) {
  if (!status || !status->expiry_time) {
    out += "<td class=\"expiry\"><span class=\"muted\">—</span></td>";
    return;
  }
  const double expiry = *status->expiry_time;
  std::string_view css = "expiry";
  if (!retired && expiry <= now) css = "expiry exp-past";
  if (!retired && expiry > now && expiry - now < kExpirySoon) css = "expiry exp-soon";
  out += "<td class=\"";
  out += css;
  out += "\"><span class=\"nowrap\" title=\"";
  out += FormatUtcDateTime(expiry);
  out += "\">";
  out += FormatUtcDate(expiry);
  out += "</span> <small class=\"nowrap\">";
  out += FormatRelative(expiry, now);
  out += "</small></td>";
}

// The name on one line (cut, the whole of it in the title); a discovered eSIM without one shows
// its package instead.
void AppendNameCell(std::string& out, const EsimRecord& record) {
  const bool named = !record.config.name.empty();
  const std::string& name = named || !record.package ? record.config.name : record.package->name;
  out += "<td><div class=\"name\" title=\"";
  AppendHtmlEscaped(out, name);
  if (record.discovered) out += " (discovered by the inventory sweeps)";
  out += "\">";
  if (named) {
    AppendHtmlEscaped(out, name);
  } else {
    out += "<span class=\"muted\">";
    out += name.empty() ? "—" : HtmlEscape(name);
    out += "</span>";
  }
  if (record.discovered) out += "<span class=\"tag\">discovered</span>";
  out += "</div></td>";
}

// The account's name, a link to its eSIMs alone (keeping the rest of the query).
void AppendAccountCell(std::string& out, const EsimRecord& record, const LandingQuery& query) {
  out += "<td class=\"account\">";
  if (record.config.account.empty()) {
    out += "<span class=\"muted\">—</span></td>";
    return;
  }
  LandingQuery filtered = query;
  filtered.account = record.config.account;
  filtered.page = 1;
  out += "<a href=\"";
  out += LandingHref(filtered);
  out += "\">";
  AppendHtmlEscaped(out, record.config.account);
  out += "</a></td>";
}

void AppendRow(std::string& out, const EsimRecord& record, double now, bool webhooks, bool named,
               const LandingQuery& query) {
  const EsimStatus* status = record.status ? &*record.status : nullptr;
  const bool retired = status && IsRetired(*status, now);
  out += "<tr";
  if (retired) out += " class=\"retired\" title=\"retired: raises no alerts\"";
  out += " data-iccid=\"";
  AppendHtmlEscaped(out, record.Iccid());
  out += "\" data-status=\"";
  AppendHtmlEscaped(out, LifecycleStatusOf(record));
  if (named) {
    out += "\" data-account=\"";
    AppendHtmlEscaped(out, record.config.account);
  }
  out += "\">";

  if (named) AppendAccountCell(out, record, query);
  AppendNameCell(out, record);
  out += "<td class=\"mono\">";
  AppendHtmlEscaped(out, record.Iccid());
  out += "</td><td class=\"num mono\">";
  if (const auto id = record.EsimId()) out += std::to_string(*id);
  out += "</td><td>";
  AppendStatusBadge(out, LifecycleStatusOf(record));
  out += "</td>";

  if (status) {
    out += "<td class=\"num\">";
    out += FormatBytes(status->used_bytes);
    out += "</td><td class=\"num\">";
    out += status->total_bytes ? FormatBytes(*status->total_bytes) : "unlimited";
    out += "</td><td class=\"nowrap\">";
    if (const auto ratio = UsedRatioOf(record)) {
      AppendUsageBar(out, *ratio);
      out += FormatPercent(*ratio);
    }
    out += "</td>";
  } else {
    out += "<td></td><td></td><td></td>";
  }
  AppendExpiry(out, status, retired, now);
  AppendLivePoll(out, record, now);
  AppendListed(out, record, now);
  out += "<td>";
  AppendTimeAgo(out, record.last_success_time, now, "never");
  if (webhooks) {
    out += "</td><td class=\"last-event\">";
    AppendTimeAgo(out, record.last_event_time, now, "none");
  }
  out += "</td><td>";
  for (const auto& [name, value] : record.config.labels) {
    out += "<span class=\"label\">";
    AppendHtmlEscaped(out, name);
    out += "=";
    AppendHtmlEscaped(out, value);
    out += "</span>";
  }
  out += "</td></tr>\n";
}

void AppendPageLink(std::string& out, const LandingQuery& query, int page, std::string_view text,
                    std::string_view rel = "") {
  LandingQuery target = query;
  target.page = page;
  out += "<a href=\"";
  out += LandingHref(target);
  out += "\"";
  if (!rel.empty()) {
    out += " rel=\"";
    out += rel;
    out += "\"";
  }
  out += " data-page=\"";
  out += std::to_string(page);
  out += "\">";
  out += text;
  out += "</a>";
}

// First, previous, the pages around the current one, next, last: at most about a dozen links
// however many pages there are.
void AppendPager(std::string& out, const LandingQuery& query, const LandingRows& rows) {
  if (rows.pages <= 1) return;
  constexpr int kAround = 3;
  out += "<nav class=\"pager\" id=\"pager\" aria-label=\"Pages\">";
  if (rows.page > 1) {
    AppendPageLink(out, query, rows.page - 1, "‹ Previous", "prev");
  }
  const int first = std::max(1, rows.page - kAround);
  const int last = std::min(rows.pages, rows.page + kAround);
  if (first > 1) AppendPageLink(out, query, 1, "1");
  if (first > 2) out += "<span class=\"gap\">…</span>";
  for (int page = first; page <= last; ++page) {
    if (page == rows.page) {
      out += "<span class=\"page current\" aria-current=\"page\">";
      out += std::to_string(page);
      out += "</span>";
    } else {
      AppendPageLink(out, query, page, std::to_string(page));
    }
  }
  if (last < rows.pages - 1) out += "<span class=\"gap\">…</span>";
  if (last < rows.pages) AppendPageLink(out, query, rows.pages, std::to_string(rows.pages));
  if (rows.page < rows.pages) {
    AppendPageLink(out, query, rows.page + 1, "Next ›", "next");
  }
  out += "<span class=\"of\">page ";
  out += FormatCount(rows.page);
  out += " of ";
  out += FormatCount(rows.pages);
  out += "</span></nav>\n";
}

void AppendShowing(std::string& out, const LandingQuery& query, const LandingRows& rows,
                   size_t monitored) {
  out += "<p class=\"showing\" id=\"showing\" data-matching=\"";
  out += std::to_string(rows.matching);
  out += "\">";
  if (rows.rows.empty()) {
    out += "No eSIM matches";
  } else {
    const size_t first = static_cast<size_t>(rows.page - 1) * static_cast<size_t>(query.per_page);
    out += "Showing ";
    out += FormatCount(static_cast<int64_t>(first + 1));
    out += "–";
    out += FormatCount(static_cast<int64_t>(first + rows.rows.size()));
    out += " of ";
    out += FormatCount(static_cast<int64_t>(rows.matching));
    out += rows.matching == 1 ? " matching eSIM" : " matching eSIMs";
  }
  out += " (";
  out += FormatCount(static_cast<int64_t>(monitored));
  out += " monitored).</p>\n";
}

}  // namespace

bool LandingNamesAccounts(const std::vector<LandingAccount>& accounts) {
  return accounts.size() > 1 || (accounts.size() == 1 && !accounts.front().name.empty());
}

std::string RenderLandingPage(const std::vector<LandingAccount>& accounts,
                              const LandingContext& context, const LandingQuery& query) {
  static const StateSnapshot kEmpty;
  const bool named = LandingNamesAccounts(accounts);
  // The table's rows come from one snapshot: the only account's, or all accounts' eSIMs one
  // account after the other (the default order groups them by account). Copies pointers only.
  std::vector<const StateSnapshot*> snapshots;
  snapshots.reserve(accounts.size());
  for (const LandingAccount& account : accounts) {
    snapshots.push_back(account.snapshot ? account.snapshot.get() : &kEmpty);
  }
  StateSnapshot merged;
  bool webhooks = false;
  if (snapshots.size() > 1) {
    size_t size = 0;
    for (const StateSnapshot* snapshot : snapshots) size += snapshot->esims.size();
    merged.esims.reserve(size);
    for (const StateSnapshot* snapshot : snapshots) {
      merged.esims.insert(merged.esims.end(), snapshot->esims.begin(), snapshot->esims.end());
    }
  }
  for (const StateSnapshot* snapshot : snapshots) webhooks = webhooks || snapshot->webhooks.enabled;
  const StateSnapshot& table = snapshots.size() == 1 ? *snapshots.front() : merged;
  const FleetCounts counts = CountFleet(table);
  const LandingRows rows = SelectLandingRows(table, query);

  std::string out;
  out.reserve(16384 * std::max<size_t>(1, accounts.size()) + rows.rows.size() * 1200);
  out +=
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>esim_exporter</title><style>";
  out += kStyle;
  if (named) out += kAccountStyle;
  out += "</style></head><body>\n<header class=\"top\"><h1>esim_exporter</h1><span>";
  out += "Prometheus exporter for eSIMfly eSIM fleets · version ";
  AppendHtmlEscaped(out, kVersion);
  out += " (";
  AppendHtmlEscaped(out, kRevision);
  out += ")</span><nav><a href=\"";
  AppendHtmlEscaped(out, context.telemetry_path);
  out +=
      "\">Metrics</a><a href=\"-/healthy\">Health</a><a href=\"-/ready\">Readiness</a>"
      "</nav></header>\n<main>\n";
  if (accounts.empty()) {
    AppendLandingSummary(out, LandingAccount{}, false, context, counts, query);
  }
  for (size_t i = 0; i < accounts.size(); ++i) {
    AppendLandingSummary(out, accounts[i], named, context,
                         accounts.size() == 1 ? counts : CountFleet(*snapshots[i]), query);
  }

  AppendFilterForm(out, query, counts, accounts, named);
  AppendShowing(out, query, rows, counts.monitored);
  out += "<table class=\"esims\" id=\"esims\">";
  AppendHeader(out, query, webhooks, named);
  out += "<tbody>\n";
  // In the default order and by account, a heading row where the next account's rows begin.
  const bool group_rows =
      named && (query.sort == LandingSort::kConfig || query.sort == LandingSort::kAccount);
  const std::string* group = nullptr;
  for (const uint32_t row : rows.rows) {
    const EsimRecord& record = *table.esims[row];
    if (group_rows && (!group || *group != record.config.account)) {
      group = &record.config.account;
      out += "<tr class=\"group\" data-group=\"";
      AppendHtmlEscaped(out, *group);
      out += "\"><th colspan=\"";
      out += std::to_string(VisibleColumns(webhooks, named));
      out += "\">";
      if (group->empty()) {
        out += "<span class=\"muted\">unnamed account</span>";
      } else {
        AppendHtmlEscaped(out, *group);
      }
      out += "</th></tr>\n";
    }
    AppendRow(out, record, context.now, webhooks, named, query);
  }
  if (rows.rows.empty()) {
    out += "<tr><td class=\"empty\" colspan=\"";
    out += std::to_string(VisibleColumns(webhooks, named));
    out += "\">No eSIM to show</td></tr>\n";
  }
  out += "</tbody></table>\n";
  AppendPager(out, query, rows);
  out += "</main></body></html>\n";
  return out;
}

}  // namespace esim
