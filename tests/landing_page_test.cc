#include "landing_page.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <set>
#include <string>

#include "landing_rows.h"
#include "landing_test_fleet.h"

namespace esim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using testing::Fleet;
using testing::FleetRecord;
using testing::kFleetNow;
using testing::kGiB;

LandingContext Context() {
  LandingContext context;
  context.now = kFleetNow;
  return context;
}

// An account of the page: `name` ("" the unnamed one) with a copy of `snapshot`.
LandingAccount Account(const StateSnapshot& snapshot, const std::string& name = "") {
  LandingAccount account;
  account.name = name;
  account.snapshot = std::make_shared<StateSnapshot>(snapshot);
  account.poll_interval = std::chrono::minutes(15);
  account.configured_poll_interval = std::chrono::minutes(15);
  return account;
}

std::string Render(const std::vector<LandingAccount>& accounts, const QueryParams& params = {}) {
  return RenderLandingPage(accounts, Context(), ParseLandingQuery(params));
}

// The page of one unnamed account, as before accounts existed.
std::string Render(const StateSnapshot& snapshot, const QueryParams& params = {}) {
  return Render(std::vector<LandingAccount>{Account(snapshot)}, params);
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

size_t Rows(const std::string& html) { return Count(html, " data-iccid=\""); }

// The <tr> ... </tr> of the eSIM with this ICCID; empty when it is not on the page.
std::string RowOf(const std::string& html, const std::string& iccid) {
  const size_t at = html.find(" data-iccid=\"" + iccid + "\"");
  if (at == std::string::npos) return "";
  const size_t begin = html.rfind("<tr", at);
  return html.substr(begin, html.find("</tr>", at) + 5 - begin);
}

std::shared_ptr<EsimRecord> Record(const std::string& iccid, const std::string& status) {
  auto record = std::make_shared<EsimRecord>();
  record->config.iccid = iccid;
  record->config.name = "esim " + iccid;
  record->status = EsimStatus{};
  record->status->status = status;
  record->status->total_bytes = 5 * kGiB;
  record->status->used_bytes = 1 * kGiB;
  record->status->last_usage_time = kFleetNow - 3600;
  record->status->expiry_time = kFleetNow + 20 * 86400;
  record->polled = record->live_polled = true;
  record->last_poll_ok = record->last_live_ok = true;
  record->last_code = "OK";
  record->last_poll_time = record->last_success_time = record->last_live_success_time =
      kFleetNow - 30;
  return record;
}

TEST(LandingPageTest, ShowsOnlyTheRequestedPage) {
  const StateSnapshot snapshot = Fleet(2500);
  std::string html = Render(snapshot);
  EXPECT_EQ(Rows(html), 100u);
  EXPECT_THAT(html, HasSubstr("Showing 1–100 of 2,500 matching eSIMs (2,500 monitored)."));
  EXPECT_THAT(html, HasSubstr("page 1 of 25"));
  EXPECT_NE(RowOf(html, "8988303000000000099"), "");
  EXPECT_EQ(RowOf(html, "8988303000000000100"), "");

  html = Render(snapshot, {{"page", "25"}, {"per_page", "60"}});
  EXPECT_EQ(Rows(html), 60u);
  html = Render(snapshot, {{"page", "42"}, {"per_page", "60"}});
  EXPECT_EQ(Rows(html), 40u);
  EXPECT_THAT(html, HasSubstr("Showing 2,461–2,500 of 2,500"));

  html = Render(snapshot, {{"per_page", "1000"}});
  EXPECT_EQ(Rows(html), 1000u);
}

TEST(LandingPageTest, TenThousandEsimsRenderOnlyThePage) {
  const StateSnapshot snapshot = Fleet(10000);
  const auto start = std::chrono::steady_clock::now();
  const std::string html = Render(snapshot, {{"sort", "expiry"}, {"page", "50"}});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(Rows(html), 100u);
  EXPECT_LT(html.size(), 200u * 1024);  // about 1 KB a row and the summary
  // Generous: a sort of 10,000 positions and 100 rows take a few milliseconds.
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST(LandingPageTest, SummaryShowsApiBudgetPauseBalanceAndCounts) {
  StateSnapshot snapshot = Fleet(2500);
  snapshot.api.up = true;
  snapshot.api.credentials_refused = true;
  snapshot.api.paused_until = kFleetNow + 12 * 60;
  snapshot.api.pause_reason = "X-RateLimit-Remaining: 0";
  snapshot.account.balance = AccountBalance{1500, "USD"};
  snapshot.account.inventory_last_success_time = kFleetNow - 180;
  LandingAccount account = Account(snapshot);
  account.budget = RateBudget::Usage{12, 300, 2000, RateLimitConfig{30, 500, 5000}};
  account.inventory_enabled = true;
  account.poll_interval = std::chrono::minutes(45);  // stretched
  const std::string html = Render({account});

  EXPECT_THAT(html, HasSubstr("data-up=\"1\">up<"));
  EXPECT_THAT(html, HasSubstr("id=\"credentials-refused\""));
  EXPECT_THAT(html, HasSubstr("Paused by the API until 2026-05-28 20:38:40 UTC (in 12 min): "
                              "X-RateLimit-Remaining: 0"));
  EXPECT_THAT(html, HasSubstr("12 / 30"));
  EXPECT_THAT(html, HasSubstr("18 left"));
  EXPECT_THAT(html, HasSubstr("300 / 500"));
  EXPECT_THAT(html, HasSubstr("2,000 / 5,000"));
  EXPECT_THAT(html, HasSubstr("3,000 left"));
  EXPECT_THAT(html, HasSubstr("1,500.00 USD"));
  EXPECT_THAT(html, HasSubstr("id=\"interval-in-force\">45 min<"));
  EXPECT_THAT(html, HasSubstr("configured 15 min"));
  EXPECT_THAT(html, HasSubstr("id=\"interval-stretched\""));
  EXPECT_THAT(html, HasSubstr("Last complete inventory sweep: "));
  EXPECT_THAT(html, HasSubstr(">3 min ago<"));
  EXPECT_THAT(html, HasSubstr("id=\"monitored\">2,500<"));
  const FleetCounts counts = CountFleet(snapshot);
  EXPECT_THAT(html,
              HasSubstr("data-status=\"DEPLETED\"><span class=\"st st-depleted\">DEPLETED</span>"
                        "</a> " +
                        std::to_string(counts.by_status.at("DEPLETED")) + "<"));
  EXPECT_THAT(html, HasSubstr("<a href=\"?status=DEPLETED\""));
  EXPECT_THAT(html, HasSubstr("<a href=\"?poll=failing\" id=\"failing-polls\" class=\"bad\">" +
                              std::to_string(counts.live_failing) + " failing</a>"));
}

TEST(LandingPageTest, SummaryWithoutAnswersOrPauses) {
  StateSnapshot snapshot;
  snapshot.api.paused_until = kFleetNow - 1;  // over
  const std::string html = Render(snapshot);
  EXPECT_THAT(html, HasSubstr("data-up=\"unknown\">no answer yet<"));
  EXPECT_THAT(html, Not(HasSubstr("id=\"credentials-refused\"")));
  EXPECT_THAT(html, Not(HasSubstr("id=\"api-paused\"")));
  EXPECT_THAT(html, Not(HasSubstr("id=\"interval-stretched\"")));
  EXPECT_THAT(html, HasSubstr("not read (yet)"));
  EXPECT_THAT(html, HasSubstr("No eSIM to show"));
  EXPECT_THAT(html, Not(HasSubstr("id=\"pager\"")));
  snapshot.api.up = false;
  EXPECT_THAT(Render(snapshot), HasSubstr("data-up=\"0\">down<"));
}

TEST(LandingPageTest, LifecycleColoursAreApartFromThePollResult) {
  StateSnapshot snapshot;
  const char* statuses[] = {"ACTIVE",    "NEW",     "DEPLETED", "EXPIRED",
                            "CANCELLED", "DELETED", "SUSPENDED"};
  int n = 0;
  for (const char* status : statuses) {
    snapshot.esims.push_back(Record("890000000000000000" + std::to_string(n++), status));
  }
  const std::string html = Render(snapshot);
  const std::string active = RowOf(html, "8900000000000000000");
  EXPECT_THAT(active, HasSubstr("<span class=\"st st-active\">ACTIVE</span>"));
  const std::pair<const char*, const char*> expected[] = {
      {"8900000000000000001", "st st-new"},     {"8900000000000000002", "st st-depleted"},
      {"8900000000000000003", "st st-expired"}, {"8900000000000000004", "st st-cancelled"},
      {"8900000000000000005", "st st-deleted"}, {"8900000000000000006", "st st-other"}};
  for (const auto& [iccid, css] : expected) {
    const std::string row = RowOf(html, iccid);
    ASSERT_NE(row, "") << iccid;
    EXPECT_THAT(row, HasSubstr(std::string("class=\"") + css + "\"")) << row;
    // Nothing in a row but an ACTIVE status is green.
    EXPECT_THAT(row, Not(HasSubstr("st-active"))) << row;
    EXPECT_THAT(row, Not(HasSubstr("\"good\""))) << row;
    EXPECT_THAT(row, Not(HasSubstr("class=\"ok\""))) << row;
  }
  // Each answered its live poll: the result says so, in the neutral poll-ok style.
  EXPECT_THAT(RowOf(html, "8900000000000000002"), HasSubstr("class=\"poll poll-ok\""));
  EXPECT_THAT(html, HasSubstr(".poll-ok{color:var(--muted)}"));
}

TEST(LandingPageTest, FailingAndPendingLivePolls) {
  StateSnapshot snapshot;
  auto failing = Record("8900000000000000001", "ACTIVE");
  failing->live_polled = true;
  failing->last_live_ok = failing->last_poll_ok = false;
  failing->last_code = "PROVIDER_ERROR";
  failing->last_message = "carrier <down>";
  failing->last_live_success_time = kFleetNow - 7200;
  failing->last_live_time = kFleetNow - 120;
  auto never = Record("8900000000000000002", "ACTIVE");
  never->last_live_ok = never->last_poll_ok = false;
  never->last_code = "ESIM_NOT_FOUND";
  never->last_live_success_time = 0;
  never->status.reset();
  auto listed_only = Record("8900000000000000003", "NEW");
  listed_only->live_polled = listed_only->last_live_ok = false;
  listed_only->last_live_success_time = 0;
  listed_only->last_listed_time = kFleetNow - 60;
  listed_only->last_list_ok = false;  // not in the latest sweep
  snapshot.esims = {failing, never, listed_only};
  const std::string html = Render(snapshot);

  const std::string failing_row = RowOf(html, "8900000000000000001");
  EXPECT_THAT(failing_row,
              HasSubstr("class=\"poll poll-fail\"><span class=\"code\">PROVIDER_ERROR</span>"));
  // When the failing poll was, then when the last one succeeded.
  EXPECT_THAT(failing_row, HasSubstr("2 min ago</span>, last OK <span class=\"nowrap\" "
                                     "title=\"2026-05-28 18:26:40 UTC\">2 h ago</span>"));
  EXPECT_THAT(failing_row, HasSubstr("carrier &lt;down&gt;"));
  const std::string never_row = RowOf(html, "8900000000000000002");
  EXPECT_THAT(never_row, HasSubstr("ESIM_NOT_FOUND"));
  EXPECT_THAT(never_row, HasSubstr("never OK"));
  EXPECT_THAT(never_row, HasSubstr("<span class=\"st st-unknown\">unknown</span>"));
  const std::string listed_row = RowOf(html, "8900000000000000003");
  EXPECT_THAT(listed_row, HasSubstr("class=\"poll poll-pending\">not yet<"));
  EXPECT_THAT(listed_row, HasSubstr("not in the latest sweep"));
}

TEST(LandingPageTest, UsageExpiryAndRetiredRows) {
  StateSnapshot snapshot;
  auto heavy = Record("8900000000000000001", "ACTIVE");
  heavy->status->used_bytes = 0.85 * 5 * kGiB;
  heavy->status->expiry_time = kFleetNow + 3 * 86400;
  auto unlimited = Record("8900000000000000002", "ACTIVE");
  unlimited->status->total_bytes.reset();
  unlimited->status->unlimited = true;
  auto old_expired = Record("8900000000000000003", "EXPIRED");
  old_expired->status->expiry_time = kFleetNow - 30 * 86400;
  auto recent_expired = Record("8900000000000000004", "EXPIRED");
  recent_expired->status->expiry_time = kFleetNow - 2 * 86400;
  // DEPLETED: by its last usage; seen only through sweeps (no last usage), by its expiry date.
  auto old_depleted = Record("8900000000000000005", "DEPLETED");
  old_depleted->status->last_usage_time = kFleetNow - 30 * 86400;
  auto sweep_depleted = Record("8900000000000000006", "DEPLETED");
  sweep_depleted->status->last_usage_time.reset();
  auto sweep_depleted_expired = Record("8900000000000000007", "DEPLETED");
  sweep_depleted_expired->status->last_usage_time.reset();
  sweep_depleted_expired->status->expiry_time = kFleetNow - 30 * 86400;
  snapshot.esims = {heavy,        unlimited,      old_expired,           recent_expired,
                    old_depleted, sweep_depleted, sweep_depleted_expired};
  const std::string html = Render(snapshot);

  const std::string heavy_row = RowOf(html, "8900000000000000001");
  EXPECT_THAT(heavy_row, HasSubstr("4.25 GiB"));
  EXPECT_THAT(heavy_row, HasSubstr("5.00 GiB"));
  EXPECT_THAT(heavy_row, HasSubstr("class=\"warn\" style=\"width:85%\""));
  EXPECT_THAT(heavy_row, HasSubstr("85 %"));
  EXPECT_THAT(heavy_row, HasSubstr("class=\"expiry exp-soon\""));
  EXPECT_THAT(heavy_row, HasSubstr("2026-05-31"));
  EXPECT_THAT(heavy_row, HasSubstr("in 3 d"));
  EXPECT_THAT(RowOf(html, "8900000000000000002"), HasSubstr(">unlimited<"));
  const std::string old_row = RowOf(html, "8900000000000000003");
  EXPECT_THAT(old_row, HasSubstr("<tr class=\"retired\""));
  EXPECT_THAT(old_row, HasSubstr("30 d ago"));
  const std::string recent_row = RowOf(html, "8900000000000000004");
  EXPECT_THAT(recent_row, Not(HasSubstr("retired")));
  EXPECT_THAT(recent_row, HasSubstr("class=\"expiry exp-past\""));
  EXPECT_THAT(RowOf(html, "8900000000000000005"), HasSubstr("<tr class=\"retired\""));
  EXPECT_THAT(RowOf(html, "8900000000000000006"), Not(HasSubstr("retired")));
  EXPECT_THAT(RowOf(html, "8900000000000000007"), HasSubstr("<tr class=\"retired\""));
}

TEST(LandingPageTest, EscapesEveryTextFromTheConfigAndTheApi) {
  StateSnapshot snapshot;
  auto hostile = Record("<script>iccid</script>", "<b>ACTIVE</b>");
  hostile->config.name = "<img src=x onerror=alert(1)>\"'&";
  hostile->config.labels = {{"<k>", "\"><script>alert(2)</script>"}};
  hostile->package =
      std::make_shared<const PackageInfo>(PackageInfo{"<i>code</i>", "<i>pkg</i>", ""});
  hostile->live_polled = true;
  hostile->last_live_ok = false;
  hostile->last_code = "<svg onload=alert(3)>";
  hostile->last_message = "<script>alert(4)</script>";
  auto unnamed = Record("8900000000000000009", "ACTIVE");
  unnamed->config.name = "";
  unnamed->discovered = true;
  unnamed->package = std::make_shared<const PackageInfo>(PackageInfo{"c", "<u>Japan 5GB</u>", ""});
  snapshot.esims = {hostile, unnamed};
  snapshot.api.pause_reason = "<script>alert(5)</script>";
  snapshot.api.paused_until = kFleetNow + 60;
  snapshot.account.balance = AccountBalance{1, "<b>$</b>"};
  const std::string html =
      Render(snapshot, {{"q", ""}, {"status", "<script>"}, {"sort", "\"><script>"}});
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("<svg")));
  EXPECT_THAT(html, Not(HasSubstr("<i>")));
  EXPECT_THAT(html, Not(HasSubstr("<u>")));
  EXPECT_THAT(html, Not(HasSubstr("<b>")));
  EXPECT_THAT(html, Not(HasSubstr("<k>")));
  EXPECT_THAT(html, HasSubstr("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"));
  EXPECT_THAT(html, HasSubstr("&lt;k&gt;=&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("&lt;u&gt;Japan 5GB&lt;/u&gt;"));
  EXPECT_THAT(html, HasSubstr("data-status=\"&lt;b&gt;ACTIVE&lt;/b&gt;\""));

  // The search text comes back in the form and in every link, escaped and encoded.
  const std::string searched = Render(snapshot, {{"q", "\"><script>alert(6)</script>"}});
  EXPECT_THAT(searched, Not(HasSubstr("<script")));
  EXPECT_THAT(searched, HasSubstr("value=\"&quot;&gt;&lt;script&gt;alert(6)&lt;/script&gt;\""));
  EXPECT_THAT(searched, HasSubstr("q=%22%3E%3Cscript%3Ealert%286%29%3C%2Fscript%3E"));
}

TEST(LandingPageTest, NoWebhookCardNorColumnWithoutAReceiver) {
  StateSnapshot snapshot;
  auto record = Record("8900000000000000001", "ACTIVE");
  record->last_event_time = kFleetNow - 600;
  snapshot.esims = {record};
  snapshot.webhooks.deliveries[{"esim.installed", "applied"}] = 1;
  std::string html = Render(snapshot);
  EXPECT_THAT(html, Not(HasSubstr("summary-webhooks")));
  EXPECT_THAT(html, Not(HasSubstr("Last event")));
  EXPECT_THAT(html, Not(HasSubstr("last-event")));
  html = Render(snapshot, {{"q", "nothing matches this"}});
  EXPECT_THAT(html, HasSubstr("<td class=\"empty\" colspan=\"12\">"));
}

TEST(LandingPageTest, WebhookCardCountsDeliveriesByOutcome) {
  StateSnapshot snapshot;
  snapshot.webhooks.enabled = true;
  snapshot.webhooks.last_applied_time = kFleetNow - 180;
  snapshot.webhooks.deliveries = {{{"esim.usage.threshold", "applied"}, 10},
                                  {{"esim.status.changed", "applied"}, 1200},
                                  {{"other", "invalid_signature"}, 3},
                                  {{"esim.installed", "duplicate"}, 1}};
  const std::string html = Render(snapshot);
  const size_t card = html.find("<div class=\"card\" id=\"summary-webhooks\">");
  ASSERT_NE(card, std::string::npos);
  EXPECT_THAT(html.substr(card),
              HasSubstr("Last applied <span class=\"nowrap\" title=\"2026-05-28 20:23:40 UTC\">"
                        "3 min ago</span>"));
  // Summed over events, the events in the title; refusals in red; the documented order.
  const size_t applied = html.find(
      "<li data-outcome=\"applied\" title=\"esim.status.changed 1,200, esim.usage.threshold 10\">"
      "<span class=\"muted\">applied</span> 1,210</li>",
      card);
  const size_t duplicate = html.find(
      "<li data-outcome=\"duplicate\" title=\"esim.installed 1\"><span class=\"muted\">duplicate"
      "</span> 1</li>",
      card);
  const size_t refused = html.find(
      "<li data-outcome=\"invalid_signature\" title=\"other 3\"><span class=\"bad\">"
      "invalid_signature</span> 3</li>",
      card);
  ASSERT_NE(applied, std::string::npos);
  ASSERT_NE(duplicate, std::string::npos);
  ASSERT_NE(refused, std::string::npos);
  EXPECT_LT(applied, duplicate);
  EXPECT_LT(duplicate, refused);
}

TEST(LandingPageTest, WebhookCardBeforeAnyDelivery) {
  StateSnapshot snapshot;
  snapshot.webhooks.enabled = true;
  const std::string html = Render(snapshot);
  EXPECT_THAT(html, HasSubstr("Last applied <span class=\"muted\">none yet</span>"));
  EXPECT_THAT(html, HasSubstr("id=\"webhook-outcomes\">no delivery received yet<"));
  EXPECT_THAT(html, HasSubstr("<td class=\"empty\" colspan=\"13\">"));
}

TEST(LandingPageTest, WebhookCardEscapesOutcomesAndEvents) {
  StateSnapshot snapshot;
  snapshot.webhooks.enabled = true;
  snapshot.webhooks.deliveries = {{{"<script>alert(7)</script>", "\"><img src=x>"}, 2}};
  const std::string html = Render(snapshot);
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, HasSubstr("data-outcome=\"&quot;&gt;&lt;img src=x&gt;\" "
                              "title=\"&lt;script&gt;alert(7)&lt;/script&gt; 2\">"));
}

TEST(LandingPageTest, LastEventColumnWithAReceiver) {
  StateSnapshot snapshot;
  snapshot.webhooks.enabled = true;
  auto with_event = Record("8900000000000000001", "ACTIVE");
  with_event->last_event_time = kFleetNow - 600;
  snapshot.esims = {with_event, Record("8900000000000000002", "ACTIVE")};
  const std::string html = Render(snapshot, {{"sort", "last_event"}});
  EXPECT_THAT(html,
              HasSubstr("<th data-sort=\"last_event\" class=\"sorted\" aria-sort=\"ascending\">"
                        "<a href=\"?sort=last_event&amp;order=desc\">Last event ▲</a></th>"));
  EXPECT_THAT(RowOf(html, "8900000000000000001"),
              HasSubstr("<td class=\"last-event\"><span class=\"nowrap\" "
                        "title=\"2026-05-28 20:16:40 UTC\">10 min ago</span></td>"));
  EXPECT_THAT(RowOf(html, "8900000000000000002"),
              HasSubstr("<td class=\"last-event\"><span class=\"muted\">none</span></td>"));
}

TEST(LandingPageTest, LongApiMessagesAreCut) {
  StateSnapshot snapshot;
  auto record = Record("8900000000000000001", "ACTIVE");
  record->live_polled = true;
  record->last_live_ok = false;
  record->last_code = std::string(1000, 'C');
  record->last_message = std::string(100000, 'm');
  snapshot.esims = {record};
  const std::string html = Render(snapshot);
  EXPECT_LT(html.size(), 20000u);
  EXPECT_THAT(html, HasSubstr(std::string(200, 'm') + "…"));
}

TEST(LandingPageTest, LinksKeepTheOtherParameters) {
  const StateSnapshot snapshot = Fleet(2500);
  const std::string html = Render(snapshot, {{"sort", "expiry"},
                                             {"status", "ACTIVE"},
                                             {"q", "site=syd"},
                                             {"per_page", "25"},
                                             {"page", "2"}});
  // Pages: the same sort and filters, another page.
  EXPECT_THAT(html, HasSubstr("<a href=\"?sort=expiry&amp;status=ACTIVE&amp;q=site%3Dsyd&amp;"
                              "per_page=25&amp;page=3\" rel=\"next\""));
  EXPECT_THAT(html, HasSubstr("<a href=\"?sort=expiry&amp;status=ACTIVE&amp;q=site%3Dsyd&amp;"
                              "per_page=25\" rel=\"prev\""));
  // Sorting by expiry again flips the order; another column starts in its own order; both go
  // back to the first page.
  EXPECT_THAT(html, HasSubstr("<a href=\"?sort=expiry&amp;order=desc&amp;status=ACTIVE&amp;"
                              "q=site%3Dsyd&amp;per_page=25\">Expires ▲</a>"));
  EXPECT_THAT(html, HasSubstr("<a href=\"?sort=used_pct&amp;status=ACTIVE&amp;q=site%3Dsyd&amp;"
                              "per_page=25\">Used %</a>"));
  EXPECT_THAT(html, HasSubstr("aria-sort=\"ascending\""));
  // The form keeps the sort and the filters.
  EXPECT_THAT(html, HasSubstr("<input type=\"hidden\" name=\"sort\" value=\"expiry\">"));
  EXPECT_THAT(html, HasSubstr("<option value=\"ACTIVE\" selected>"));
  EXPECT_THAT(html, HasSubstr("<option value=\"25\" selected>"));
  EXPECT_THAT(html, HasSubstr("value=\"site=syd\""));
}

TEST(LandingPageTest, PagerStaysSmallForManyPages) {
  const StateSnapshot snapshot = Fleet(10000);
  const std::string html = Render(snapshot, {{"per_page", "1"}, {"page", "5000"}});
  EXPECT_EQ(Rows(html), 1u);
  const size_t pager = html.find("id=\"pager\"");
  ASSERT_NE(pager, std::string::npos);
  const std::string nav = html.substr(pager, html.find("</nav>", pager) - pager);
  EXPECT_LE(Count(nav, "<a "), 11u);  // previous, 1, 4997..5003 but 5000, 10000, next
  EXPECT_THAT(nav, HasSubstr("data-page=\"1\""));
  EXPECT_THAT(nav, HasSubstr("data-page=\"10000\""));
  EXPECT_THAT(nav, HasSubstr("aria-current=\"page\">5000<"));
  EXPECT_THAT(nav, HasSubstr("page 5,000 of 10,000"));
}

TEST(LandingPageTest, GarbageParametersStillRenderTheFirstPage) {
  const StateSnapshot snapshot = Fleet(300);
  const std::string html = Render(snapshot, {{"page", "-3"},
                                             {"per_page", "lots"},
                                             {"sort", "'; DROP TABLE"},
                                             {"order", "\x01"},
                                             {"status", std::string(10000, 'A')},
                                             {"poll", "%00"},
                                             {"q", std::string(10000, '<')}});
  // Nothing matches the (cut) search; the page still renders, the text comes back bounded.
  EXPECT_THAT(html, HasSubstr("No eSIM matches"));
  EXPECT_LT(html.size(), 40000u);
  const std::string plain = Render(snapshot, {{"page", "-3"}, {"per_page", "lots"}});
  EXPECT_EQ(Rows(plain), 100u);
  EXPECT_THAT(plain, HasSubstr("Showing 1–100 of 300"));
}

// Records first..last-1 of the test fleet, all of `account`.
StateSnapshot AccountFleet(const std::string& account, int first, int last) {
  StateSnapshot snapshot;
  for (int i = first; i < last; ++i) {
    auto record = FleetRecord(i);
    record->config.account = account;
    snapshot.esims.push_back(record);
  }
  return snapshot;
}

// acme: records 0..59, API up, credentials refused, a balance; globex: records 60..99, API
// down, paused by the API, a webhook receiver.
std::vector<LandingAccount> TwoAccounts() {
  StateSnapshot acme = AccountFleet("acme", 0, 60);
  acme.api.up = true;
  acme.api.credentials_refused = true;
  acme.account.balance = AccountBalance{1500, "USD"};
  StateSnapshot globex = AccountFleet("globex", 60, 100);
  globex.api.up = false;
  globex.api.paused_until = kFleetNow + 12 * 60;
  globex.account.balance = AccountBalance{20, "EUR"};
  globex.webhooks.enabled = true;
  std::vector<LandingAccount> accounts = {Account(acme, "acme"), Account(globex, "globex")};
  accounts[0].budget = RateBudget::Usage{12, 300, 2000, RateLimitConfig{30, 500, 5000}};
  accounts[1].budget = RateBudget::Usage{1, 2, 3, RateLimitConfig{10, 100, 1000}};
  accounts[1].poll_interval = std::chrono::minutes(60);  // stretched
  return accounts;
}

// The <section> of the summary of `account`; empty when there is none.
std::string SummaryOf(const std::string& html, const std::string& account) {
  const size_t begin = html.find("<section class=\"summary account\" id=\"summary-" + account);
  if (begin == std::string::npos) return "";
  return html.substr(begin, html.find("</section>", begin) + 10 - begin);
}

TEST(LandingPageAccountsTest, OneSummaryPerAccountHeadedByItsName) {
  const std::string html = Render(TwoAccounts());
  EXPECT_THAT(html, Not(HasSubstr("id=\"summary\"")));
  const std::string acme = SummaryOf(html, "acme");
  const std::string globex = SummaryOf(html, "globex");
  ASSERT_NE(acme, "");
  ASSERT_NE(globex, "");
  EXPECT_LT(html.find(acme), html.find(globex));  // config order
  EXPECT_THAT(acme, HasSubstr("data-account=\"acme\">\n<h2 class=\"account-name\"><a "
                              "href=\"?account=acme\" title=\"only the eSIMs of this account\">acme"
                              "</a></h2>"));
  // API, credentials, pause, budget, polling, balance and counts: each account's own.
  EXPECT_THAT(acme, HasSubstr("id=\"account-acme-api-up\" data-up=\"1\">up<"));
  EXPECT_THAT(globex, HasSubstr("id=\"account-globex-api-up\" data-up=\"0\">down<"));
  EXPECT_THAT(acme, HasSubstr("id=\"account-acme-credentials-refused\""));
  EXPECT_THAT(globex, Not(HasSubstr("credentials-refused")));
  EXPECT_THAT(globex, HasSubstr("id=\"account-globex-api-paused\""));
  EXPECT_THAT(acme, Not(HasSubstr("api-paused")));
  EXPECT_THAT(acme, HasSubstr("id=\"account-acme-budget-day\" data-used=\"2000\" "
                              "data-limit=\"5000\""));
  EXPECT_THAT(globex, HasSubstr("id=\"account-globex-budget-day\" data-used=\"3\" "
                                "data-limit=\"1000\""));
  EXPECT_THAT(globex, HasSubstr("id=\"account-globex-interval-stretched\""));
  EXPECT_THAT(acme, Not(HasSubstr("interval-stretched")));
  EXPECT_THAT(acme, HasSubstr("1,500.00 USD"));
  EXPECT_THAT(globex, HasSubstr("20.00 EUR"));
  EXPECT_THAT(acme, HasSubstr("id=\"account-acme-monitored\">60<"));
  EXPECT_THAT(globex, HasSubstr("id=\"account-globex-monitored\">40<"));
  EXPECT_THAT(globex, HasSubstr("id=\"account-globex-summary-webhooks\""));
  EXPECT_THAT(acme, Not(HasSubstr("summary-webhooks")));
  // Each count links to that account's eSIMs in that state.
  EXPECT_THAT(acme, HasSubstr("<a href=\"?account=acme&amp;status=DEPLETED\""));
  EXPECT_THAT(globex, HasSubstr("<a href=\"?account=globex&amp;poll=failing\" "
                                "id=\"account-globex-failing-polls\""));
  const FleetCounts counts = CountFleet(AccountFleet("globex", 60, 100));
  EXPECT_THAT(globex, HasSubstr(">" + std::to_string(counts.live_failing) + " failing</a>"));
  // The table counts all accounts.
  EXPECT_THAT(html, HasSubstr("Showing 1–100 of 100 matching eSIMs (100 monitored)."));
}

TEST(LandingPageAccountsTest, EveryIdIsUniqueOnThePage) {
  const std::string html = Render(TwoAccounts());
  const std::regex id(" id=\"([^\"]*)\"");
  std::set<std::string> seen;
  size_t ids = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), id); it != std::sregex_iterator();
       ++it, ++ids) {
    EXPECT_TRUE(seen.insert((*it)[1].str()).second) << (*it)[1].str();
  }
  EXPECT_GT(ids, 30u);
}

TEST(LandingPageAccountsTest, AccountColumnGroupsRowsByAccount) {
  const std::string html = Render(TwoAccounts());
  EXPECT_THAT(html, HasSubstr("<thead><tr><th data-sort=\"account\"><a href=\"?sort=account\">"
                              "Account</a></th><th data-sort=\"name\">"));
  const std::string row = RowOf(html, "8988303000000000061");
  EXPECT_THAT(row, HasSubstr("data-account=\"globex\">"));
  EXPECT_THAT(row, HasSubstr("<td class=\"account\"><a href=\"?account=globex\">globex</a></td>"));
  // One heading row where each account's rows begin, acme's first; the Last event column since
  // one account has a webhook receiver (14 columns).
  const size_t acme = html.find("<tr class=\"group\" data-group=\"acme\"><th colspan=\"14\">acme<");
  const size_t globex =
      html.find("<tr class=\"group\" data-group=\"globex\"><th colspan=\"14\">globex<");
  ASSERT_NE(acme, std::string::npos);
  ASSERT_NE(globex, std::string::npos);
  EXPECT_LT(acme, html.find(RowOf(html, "8988303000000000000")));
  EXPECT_LT(html.find(RowOf(html, "8988303000000000059")), globex);
  EXPECT_LT(globex, html.find(RowOf(html, "8988303000000000060")));
  EXPECT_EQ(Count(html, "<tr class=\"group\""), 2u);
  // The form offers the accounts.
  EXPECT_THAT(html, HasSubstr("<select name=\"account\" aria-label=\"Account\"><option value=\"\" "
                              "selected>any account</option><option value=\"acme\">acme</option>"
                              "<option value=\"globex\">globex</option></select>"));
  // Sorted by another column: no heading rows.
  EXPECT_EQ(Count(Render(TwoAccounts(), {{"sort", "expiry"}}), "<tr class=\"group\""), 0u);
}

TEST(LandingPageAccountsTest, FilterAndSortByAccount) {
  std::string html = Render(TwoAccounts(), {{"account", "globex"}});
  EXPECT_EQ(Rows(html), 40u);
  EXPECT_EQ(RowOf(html, "8988303000000000059"), "");
  EXPECT_NE(RowOf(html, "8988303000000000060"), "");
  EXPECT_THAT(html, HasSubstr("Showing 1–40 of 40 matching eSIMs (100 monitored)."));
  EXPECT_THAT(html, HasSubstr("<option value=\"globex\" selected>globex</option>"));
  // The summaries stay for every account; their links keep the account they belong to.
  EXPECT_NE(SummaryOf(html, "acme"), "");
  EXPECT_THAT(SummaryOf(html, "acme"), HasSubstr("<a href=\"?account=acme&amp;status=ACTIVE\""));
  // Sorting keeps the filter.
  EXPECT_THAT(html, HasSubstr("<a href=\"?sort=expiry&amp;account=globex\">Expires</a>"));

  // An account the page does not hold: nothing matches, the form still shows it.
  html = Render(TwoAccounts(), {{"account", "initech"}});
  EXPECT_EQ(Rows(html), 0u);
  EXPECT_THAT(html, HasSubstr("<option value=\"initech\" selected>initech</option>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"empty\" colspan=\"14\">"));

  // By account, descending: globex's first, each in its config order.
  html = Render(TwoAccounts(), {{"sort", "account"}, {"order", "desc"}});
  EXPECT_THAT(html, HasSubstr("<th data-sort=\"account\" class=\"sorted\" "
                              "aria-sort=\"descending\"><a href=\"?sort=account\">Account ▼</a>"));
  EXPECT_LT(html.find(RowOf(html, "8988303000000000060")),
            html.find(RowOf(html, "8988303000000000061")));
  EXPECT_LT(html.find(RowOf(html, "8988303000000000099")),
            html.find(RowOf(html, "8988303000000000000")));
}

TEST(LandingPageAccountsTest, PagesRunAcrossAccounts) {
  const std::string html = Render(TwoAccounts(), {{"per_page", "25"}, {"page", "3"}});
  EXPECT_EQ(Rows(html), 25u);
  EXPECT_THAT(html, HasSubstr("Showing 51–75 of 100 matching eSIMs"));
  EXPECT_THAT(html, HasSubstr("page 3 of 4"));
  EXPECT_NE(RowOf(html, "8988303000000000050"), "");
  EXPECT_NE(RowOf(html, "8988303000000000074"), "");
  // The page starts inside acme: its heading row repeats, so every row sits under its account.
  EXPECT_THAT(html, HasSubstr("data-group=\"acme\""));
  EXPECT_THAT(html, HasSubstr("data-group=\"globex\""));
  const std::string last = Render(TwoAccounts(), {{"per_page", "25"}, {"page", "4"}});
  EXPECT_THAT(last, Not(HasSubstr("data-group=\"acme\"")));
  EXPECT_EQ(Rows(last), 25u);
}

TEST(LandingPageAccountsTest, OneNamedAccountIsNamed) {
  const std::string html = Render({Account(AccountFleet("acme", 0, 10), "acme")});
  EXPECT_NE(SummaryOf(html, "acme"), "");
  EXPECT_THAT(html, HasSubstr("data-sort=\"account\""));
  EXPECT_THAT(html, HasSubstr("<td class=\"account\">"));
}

TEST(LandingPageAccountsTest, OneUnnamedAccountShowsNoAccount) {
  const std::string html = Render(Fleet(10));
  EXPECT_THAT(html, HasSubstr("<section class=\"summary\" id=\"summary\">"));
  EXPECT_THAT(html, HasSubstr("id=\"api-up\""));
  for (const char* absent : {"account", "Account", "data-group"}) {
    EXPECT_THAT(html, Not(HasSubstr(absent))) << absent;
  }
  // No account: the page of an empty unnamed one.
  EXPECT_THAT(Render(std::vector<LandingAccount>{}), HasSubstr("No eSIM to show"));
  LandingAccount no_snapshot;
  EXPECT_THAT(Render({no_snapshot}), HasSubstr("No eSIM to show"));
}

TEST(LandingPageAccountsTest, EscapesAccountNames) {
  // The config allows no such name; the page escapes it all the same.
  const std::string hostile = "<script>alert(8)</script>\"'&";
  StateSnapshot snapshot = AccountFleet(hostile, 0, 3);
  const std::string html = Render({Account(snapshot, hostile), Account(StateSnapshot{}, "b")});
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  const std::string escaped = "&lt;script&gt;alert(8)&lt;/script&gt;&quot;&#39;&amp;";
  EXPECT_THAT(html, HasSubstr("id=\"summary-" + escaped + "\" data-account=\"" + escaped + "\""));
  EXPECT_THAT(html, HasSubstr("id=\"account-" + escaped + "-api-up\""));
  EXPECT_THAT(html, HasSubstr("<tr class=\"group\" data-group=\"" + escaped + "\">"));
  EXPECT_THAT(html, HasSubstr("data-account=\"" + escaped + "\">"));
  EXPECT_THAT(html, HasSubstr("<option value=\"" + escaped + "\">" + escaped + "</option>"));
  // Links carry it percent-encoded.
  EXPECT_THAT(html, HasSubstr("?account=%3Cscript%3Ealert%288%29%3C%2Fscript%3E%22%27%26"));
}

TEST(HtmlEscapeTest, EscapesEverySpecialCharacter) {
  EXPECT_EQ(HtmlEscape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
}

}  // namespace
}  // namespace esim
