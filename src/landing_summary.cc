#include "landing_summary.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <string_view>
#include <vector>

#include "landing_format.h"
#include "landing_html.h"

namespace esim {
namespace {

// ` id="<prefix><id>"`: the prefix keeps one account's ids apart from another's on one page.
void AppendId(std::string& out, std::string_view prefix, std::string_view id) {
  out += " id=\"";
  AppendHtmlEscaped(out, prefix);
  AppendHtmlEscaped(out, id);
  out += "\"";
}

// Bounds on text from the API that the summary repeats (why it paused).
constexpr size_t kMaxReasonBytes = 200;

// The receiver's outcomes (docs/contract.md) in the order the card lists them; the refusals
// are the ones worth a red number.
constexpr std::string_view kWebhookOutcomes[] = {"applied",      "duplicate", "ignored",
                                                 "unknown_esim", "stale",     "invalid_signature",
                                                 "malformed",    "too_large"};
bool IsRefusal(std::string_view outcome) {
  return outcome == "invalid_signature" || outcome == "malformed" || outcome == "too_large";
}

void AppendApiCard(std::string& out, std::string_view ids, const ApiState& api, double now) {
  out += "<div class=\"card\"";
  AppendId(out, ids, "summary-api");
  out += "><h2>API</h2><p class=\"big\">";
  if (!api.up) {
    out += "<span class=\"muted\"";
    AppendId(out, ids, "api-up");
    out += " data-up=\"unknown\">no answer yet</span>";
  } else if (*api.up) {
    out += "<span class=\"good\"";
    AppendId(out, ids, "api-up");
    out += " data-up=\"1\">up</span>";
  } else {
    out += "<span class=\"bad\"";
    AppendId(out, ids, "api-up");
    out += " data-up=\"0\">down</span>";
  }
  out += "</p>";
  if (api.credentials_refused) {
    out += "<p class=\"alert bad\"";
    AppendId(out, ids, "credentials-refused");
    out += ">Credentials refused: check the access code, the secret key and the clock.</p>";
  }
  if (api.paused_until && *api.paused_until > now) {
    out += "<p class=\"alert warn\"";
    AppendId(out, ids, "api-paused");
    out += ">Paused by the API until ";
    out += FormatUtcDateTime(*api.paused_until);
    out += " (";
    out += FormatRelative(*api.paused_until, now);
    out += ")";
    if (!api.pause_reason.empty()) {
      out += ": ";
      AppendHtmlEscaped(out, TruncateUtf8(api.pause_reason, kMaxReasonBytes));
    }
    out += "</p>";
  }
  if (api.rate_limit.remaining && api.rate_limit.limit) {
    char text[96];
    std::snprintf(text, sizeof text, "The API reports %.0f of %.0f requests left.",
                  *api.rate_limit.remaining, *api.rate_limit.limit);
    out += "<p><small>";
    out += text;
    out += "</small></p>";
  }
  if (api.server_time_offset && std::fabs(*api.server_time_offset) >= 1) {
    out += "<p><small>Clock offset to the API: ";
    out += *api.server_time_offset < 0 ? "-" : "+";
    out += FormatSpan(*api.server_time_offset);
    out += "</small></p>";
  }
  out += "</div>\n";
}

// "last minute   521 left" over a bar and "79 / 600".
void AppendBudgetWindow(std::string& out, std::string_view ids, std::string_view window, int used,
                        int limit) {
  out += "<div class=\"window\"";
  AppendId(out, ids, "budget-" + std::string(window));
  out += " data-used=\"";
  out += std::to_string(used);
  out += "\" data-limit=\"";
  out += std::to_string(limit);
  out += "\"><div class=\"line\"><span>last ";
  out += window;
  out += "</span><b>";
  out += FormatCount(std::max(0, limit - used));
  out += " left</b></div><div class=\"line\">";
  AppendUsageBar(out, limit > 0 ? static_cast<double>(used) / limit : 1.0, "bar wide");
  out += "<small>";
  out += FormatCount(used);
  out += " / ";
  out += FormatCount(limit);
  out += "</small></div></div>";
}

void AppendBudgetCard(std::string& out, std::string_view ids,
                      const std::optional<RateBudget::Usage>& budget) {
  out += "<div class=\"card\"";
  AppendId(out, ids, "summary-budget");
  out += "><h2>Request budget</h2>";
  if (!budget) {
    out += "<p class=\"muted\">unknown</p></div>\n";
    return;
  }
  AppendBudgetWindow(out, ids, "minute", budget->minute, budget->limits.per_minute);
  AppendBudgetWindow(out, ids, "hour", budget->hour, budget->limits.per_hour);
  AppendBudgetWindow(out, ids, "day", budget->day, budget->limits.per_day);
  out += "</div>\n";
}

void AppendPollingCard(std::string& out, std::string_view ids, const StateSnapshot& snapshot,
                       const LandingAccount& account, double now) {
  const double in_force = std::chrono::duration<double>(account.poll_interval).count();
  const double configured = std::chrono::duration<double>(account.configured_poll_interval).count();
  out += "<div class=\"card\"";
  AppendId(out, ids, "summary-polling");
  out += "><h2>Polling</h2>";
  out += "<p>Live interval <span class=\"big\"";
  AppendId(out, ids, "interval-in-force");
  out += ">";
  out += in_force > 0 ? FormatSpan(in_force) : "?";
  out += "</span></p><p><small>configured ";
  out += configured > 0 ? FormatSpan(configured) : "?";
  out += "</small></p>";
  if (in_force > configured + 0.5 && configured > 0) {
    out += "<p class=\"alert warn\"";
    AppendId(out, ids, "interval-stretched");
    out += ">Stretched by the request budget: too many eSIMs for the key's limits.</p>";
  }
  if (account.inventory_enabled) {
    out += "<p><small>Last complete inventory sweep: ";
    AppendTimeAgo(out, snapshot.account.inventory_last_success_time, now, "none yet");
    out += "</small></p>";
  }
  out += "</div>\n";
}

void AppendBalanceCard(std::string& out, std::string_view ids, const AccountState& account) {
  out += "<div class=\"card\"";
  AppendId(out, ids, "summary-balance");
  out += "><h2>Balance</h2>";
  if (account.balance) {
    out += "<p class=\"big\">";
    out += FormatAmount(account.balance->amount);
    out += " ";
    AppendHtmlEscaped(out, TruncateUtf8(account.balance->currency, 16));
    out += "</p>";
  } else {
    out += "<p class=\"muted\">not read (yet)</p>";
  }
  if (!account.esims_by_status.empty()) {
    int64_t total = 0;
    for (const auto& [status, count] : account.esims_by_status) total += count;
    out += "<p><small>";
    out += FormatCount(total);
    out += " eSIMs on the account, as last listed</small></p>";
  }
  out += "</div>\n";
}

void AppendEsimsCard(std::string& out, std::string_view ids, const FleetCounts& counts,
                     const LandingQuery& query) {
  out += "<div class=\"card\"";
  AppendId(out, ids, "summary-esims");
  out += "><h2>Monitored eSIMs</h2>";
  out += "<p><span class=\"big\"";
  AppendId(out, ids, "monitored");
  out += ">";
  out += FormatCount(static_cast<int64_t>(counts.monitored));
  out += "</span>";
  if (counts.discovered > 0) {
    out += " <small>(";
    out += FormatCount(static_cast<int64_t>(counts.discovered));
    out += " discovered)</small>";
  }
  out += "</p><ul class=\"counts\"";
  AppendId(out, ids, "status-counts");
  out += ">";
  for (const std::string_view status : StatusesToOffer(counts)) {
    const auto found = counts.by_status.find(status);
    if (found == counts.by_status.end()) continue;
    LandingQuery filtered = query;
    filtered.status = std::string(status);
    filtered.page = 1;
    out += "<li><a href=\"";
    out += LandingHref(filtered);
    out += "\" data-status=\"";
    AppendHtmlEscaped(out, status);
    out += "\">";
    AppendStatusBadge(out, status);
    out += "</a> ";
    out += FormatCount(static_cast<int64_t>(found->second));
    out += "</li>";
  }
  if (const auto unknown = counts.by_status.find(""); unknown != counts.by_status.end()) {
    out += "<li>";
    AppendStatusBadge(out, "");
    out += " ";
    out += FormatCount(static_cast<int64_t>(unknown->second));
    out += "</li>";
  }
  out += "</ul><p>Live polls: ";
  LandingQuery failing = query;
  failing.poll = PollFilter::kFailing;
  failing.page = 1;
  out += "<a href=\"";
  out += LandingHref(failing);
  out += "\"";
  AppendId(out, ids, "failing-polls");
  out += " class=\"";
  out += counts.live_failing > 0 ? "bad" : "muted";
  out += "\">";
  out += FormatCount(static_cast<int64_t>(counts.live_failing));
  out += " failing</a> · ";
  out += FormatCount(static_cast<int64_t>(counts.live_ok));
  out += " OK · ";
  out += FormatCount(static_cast<int64_t>(counts.live_pending));
  out += " not yet</p></div>\n";
}

// Deliveries by outcome since the start (summed over events; the events in the title) and when
// the newest one was applied.
void AppendWebhooksCard(std::string& out, std::string_view ids, const WebhookState& webhooks,
                        double now) {
  struct Outcome {
    int64_t total = 0;
    std::string by_event;  // "esim.installed 2, esim.status.changed 1"
  };
  std::map<std::string_view, Outcome> outcomes;
  for (const auto& [key, count] : webhooks.deliveries) {
    Outcome& outcome = outcomes[key.second];
    outcome.total += count;
    if (!outcome.by_event.empty()) outcome.by_event += ", ";
    outcome.by_event += key.first + " " + FormatCount(count);
  }
  std::vector<std::string_view> order;
  for (const std::string_view known : kWebhookOutcomes) {
    if (outcomes.count(known) > 0) order.push_back(known);
  }
  for (const auto& [name, outcome] : outcomes) {
    if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
  }

  out += "<div class=\"card\"";
  AppendId(out, ids, "summary-webhooks");
  out += "><h2>Webhooks</h2><p>Last applied ";
  AppendTimeAgo(out, webhooks.last_applied_time, now, "none yet");
  out += "</p>";
  if (order.empty()) {
    out += "<p class=\"muted\"";
    AppendId(out, ids, "webhook-outcomes");
    out += ">no delivery received yet</p></div>\n";
    return;
  }
  out += "<ul class=\"counts\"";
  AppendId(out, ids, "webhook-outcomes");
  out += ">";
  for (const std::string_view name : order) {
    const Outcome& outcome = outcomes[name];
    out += "<li data-outcome=\"";
    AppendHtmlEscaped(out, TruncateUtf8(name, 64));
    out += "\" title=\"";
    AppendHtmlEscaped(out, TruncateUtf8(outcome.by_event, kMaxReasonBytes));
    out += "\"><span class=\"";
    out += IsRefusal(name) ? "bad" : "muted";
    out += "\">";
    AppendHtmlEscaped(out, TruncateUtf8(name, 64));
    out += "</span> ";
    out += FormatCount(outcome.total);
    out += "</li>";
  }
  out += "</ul></div>\n";
}

}  // namespace

std::string LandingAccountIdPrefix(const LandingAccount& account, bool named) {
  return named ? "account-" + account.name + "-" : std::string();
}

void AppendLandingSummary(std::string& out, const LandingAccount& account, bool named,
                          const LandingContext& context, const FleetCounts& counts,
                          const LandingQuery& query) {
  static const StateSnapshot kEmpty;
  const StateSnapshot& snapshot = account.snapshot ? *account.snapshot : kEmpty;
  const std::string ids = LandingAccountIdPrefix(account, named);
  // The cards' links (counts by status, failing polls) show this account's eSIMs.
  LandingQuery own = query;
  if (named && !account.name.empty()) own.account = account.name;
  if (!named) {
    out += "<section class=\"summary\" id=\"summary\">\n";
  } else {
    out += "<section class=\"summary account\"";
    AppendId(out, "summary-", account.name);
    out += " data-account=\"";
    AppendHtmlEscaped(out, account.name);
    out += "\">\n<h2 class=\"account-name\">";
    if (account.name.empty()) {
      out += "<span class=\"muted\">unnamed account</span>";
    } else {
      LandingQuery filtered = query;
      filtered.account = account.name;
      filtered.page = 1;
      out += "<a href=\"";
      out += LandingHref(filtered);
      out += "\" title=\"only the eSIMs of this account\">";
      AppendHtmlEscaped(out, account.name);
      out += "</a>";
    }
    out += "</h2>\n";
  }
  AppendApiCard(out, ids, snapshot.api, context.now);
  AppendBudgetCard(out, ids, account.budget);
  AppendPollingCard(out, ids, snapshot, account, context.now);
  AppendBalanceCard(out, ids, snapshot.account);
  AppendEsimsCard(out, ids, counts, own);
  if (snapshot.webhooks.enabled) AppendWebhooksCard(out, ids, snapshot.webhooks, context.now);
  out += "</section>\n";
}

}  // namespace esim
