#include "landing_page.h"

#include <gtest/gtest.h>

namespace esim {
namespace {

TEST(LandingPageTest, ListsEveryEsimWithItsLastPollAndEscapesText) {
  StateSnapshot snapshot;
  auto ok = std::make_shared<EsimRecord>();
  ok->config.iccid = "8948010010036785060";
  ok->config.name = "<script>alert(1)</script>";
  ok->status = EsimStatus{};
  ok->status->status = "ACTIVE";
  ok->status->used_bytes = 512.0 * 1024 * 1024;
  ok->polled = ok->last_poll_ok = true;
  ok->last_poll_time = ok->last_success_time = 1000;
  auto failed = std::make_shared<EsimRecord>();
  failed->config.esim_id = 12345;
  failed->polled = true;
  failed->last_code = "PROVIDER_ERROR";
  failed->last_message = "carrier <down>";
  failed->last_poll_time = 990;
  auto pending = std::make_shared<EsimRecord>();
  pending->config.iccid = "8948010010036785078";
  snapshot.esims = {ok, failed, pending};

  const std::string html = RenderLandingPage(snapshot, "/metrics", 1030);
  EXPECT_NE(html.find("<a href=\"/metrics\">"), std::string::npos);
  EXPECT_NE(html.find("Monitored eSIMs (3)"), std::string::npos);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("0.50 GiB"), std::string::npos);
  EXPECT_NE(html.find("unlimited"), std::string::npos);  // no total_bytes
  EXPECT_NE(html.find("30 s ago"), std::string::npos);
  EXPECT_NE(html.find("PROVIDER_ERROR: carrier &lt;down&gt;"), std::string::npos);
  EXPECT_NE(html.find("<td>12345</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>pending</td>"), std::string::npos);
}

TEST(HtmlEscapeTest, EscapesEverySpecialCharacter) {
  EXPECT_EQ(HtmlEscape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
}

}  // namespace
}  // namespace esim
