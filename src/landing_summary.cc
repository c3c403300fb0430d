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

void AppendApiCard(std::string& out, const ApiState& api, double now) {
  out += "<div class=\"card\" id=\"summary-api\"><h2>API</h2><p class=\"big\">";
  if (!api.up) {
    out += "<span class=\"muted\" id=\"api-up\" data-up=\"unknown\">no answer yet</span>";
  } else if (*api.up) {
    out += "<span class=\"good\" id=\"api-up\" data-up=\"1\">up</span>";
  } else {
    out += "<span class=\"bad\" id=\"api-up\" data-up=\"0\">down</span>";
  }
  out += "</p>";
  if (api.credentials_refused) {
    out +=
        "<p class=\"alert bad\" id=\"credentials-refused\">Credentials refused: check the "
        "access code, the secret key and the clock.</p>";
  }
  if (api.paused_until && *api.paused_until > now) {
    out += "<p class=\"alert warn\" id=\"api-paused\">Paused by the API until ";
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
void AppendBudgetWindow(std::string& out, std::string_view window, int used, int limit) {
  out += "<div class=\"window\" id=\"budget-";
  out += window;
  out += "\" data-used=\"";
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

void AppendBudgetCard(std::string& out, const std::optional<RateBudget::Usage>& budget) {
  out += "<div class=\"card\" id=\"summary-budget\"><h2>Request budget</h2>";
  if (!budget) {
    out += "<p class=\"muted\">unknown</p></div>\n";
    return;
  }
  AppendBudgetWindow(out, "minute", budget->minute, budget->limits.per_minute);
  AppendBudgetWindow(out, "hour", budget->hour, budget->limits.per_hour);
  AppendBudgetWindow(out, "day", budget->day, budget->limits.per_day);
  out += "</div>\n";
}

void AppendPollingCard(std::string& out, const StateSnapshot& snapshot,
                       const LandingContext& context) {
  const double in_force = std::chrono::duration<double>(context.poll_interval).count();
  const double configured = std::chrono::duration<double>(context.configured_poll_interval).count();
  out += "<div class=\"card\" id=\"summary-polling\"><h2>Polling</h2>";
  out += "<p>Live interval <span class=\"big\" id=\"interval-in-force\">";
  out += in_force > 0 ? FormatSpan(in_force) : "?";
  out += "</span></p><p><small>configured ";
  out += configured > 0 ? FormatSpan(configured) : "?";
  out += "</small></p>";
  if (in_force > configured + 0.5 && configured > 0) {
    out +=
        "<p class=\"alert warn\" id=\"interval-stretched\">Stretched by the request budget: "
        "too many eSIMs for the key's limits.</p>";
  }
  if (context.inventory_enabled) {
    out += "<p><small>Last complete inventory sweep: ";
    AppendTimeAgo(out, snapshot.account.inventory_last_success_time, context.now, "none yet");
    out += "</small></p>";
  }
  out += "</div>\n";
}

void AppendBalanceCard(std::string& out, const AccountState& account) {
  out += "<div class=\"card\" id=\"summary-balance\"><h2>Balance</h2>";
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

void AppendEsimsCard(std::string& out, const FleetCounts& counts, const LandingQuery& query) {
  out += "<div class=\"card\" id=\"summary-esims\"><h2>Monitored eSIMs</h2>";
  out += "<p><span class=\"big\" id=\"monitored\">";
  out += FormatCount(static_cast<int64_t>(counts.monitored));
  out += "</span>";
  if (counts.discovered > 0) {
    out += " <small>(";
    out += FormatCount(static_cast<int64_t>(counts.discovered));
    out += " discovered)</small>";
  }
  out += "</p><ul class=\"counts\" id=\"status-counts\">";
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
  out += "\" id=\"failing-polls\" class=\"";
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
void AppendWebhooksCard(std::string& out, const WebhookState& webhooks, double now) {
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

  out += "<div class=\"card\" id=\"summary-webhooks\"><h2>Webhooks</h2><p>Last applied ";
  AppendTimeAgo(out, webhooks.last_applied_time, now, "none yet");
  out += "</p>";
  if (order.empty()) {
    out += "<p class=\"muted\" id=\"webhook-outcomes\">no delivery received yet</p></div>\n";
    return;
  }
  out += "<ul class=\"counts\" id=\"webhook-outcomes\">";
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

void AppendLandingSummary(std::string& out, const StateSnapshot& snapshot,
                          const LandingContext& context, const FleetCounts& counts,
                          const LandingQuery& query) {
  out += "<section class=\"summary\" id=\"summary\">\n";
  AppendApiCard(out, snapshot.api, context.now);
  AppendBudgetCard(out, context.budget);
  AppendPollingCard(out, snapshot, context);
  AppendBalanceCard(out, snapshot.account);
  AppendEsimsCard(out, counts, query);
  if (snapshot.webhooks.enabled) AppendWebhooksCard(out, snapshot.webhooks, context.now);
  out += "</section>\n";
}

}  // namespace esim
