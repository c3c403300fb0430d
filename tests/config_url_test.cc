#include "config_url.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace esim {
namespace {

TEST(NormalizeApiUrlTest, NormalisesTheSchemeAndTrailingSlashes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"https://esimfly.net", "https://esimfly.net"},
      {"https://esimfly.net/", "https://esimfly.net"},
      {"https://proxy.test/esimfly//", "https://proxy.test/esimfly"},
      {"HTTPS://esimfly.net", "https://esimfly.net"},
      {"https://[::1]:8443/", "https://[::1]:8443"},
      {"https://localhost:8443", "https://localhost:8443"},
  };
  for (const auto& [url, expected] : cases) {
    const UrlCheck check = NormalizeApiUrl(url);
    EXPECT_EQ(check.error, "") << url;
    EXPECT_EQ(check.url, expected) << url;
    EXPECT_FALSE(check.plain_http) << url;
  }
}

TEST(NormalizeApiUrlTest, PlainHttpIsAllowedButFlagged) {
  const UrlCheck check = NormalizeApiUrl("Http://127.0.0.1:8080/");
  EXPECT_EQ(check.error, "");
  EXPECT_EQ(check.url, "http://127.0.0.1:8080");
  EXPECT_TRUE(check.plain_http);
}

TEST(NormalizeApiUrlTest, RefusalsSayWhatToWrite) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ftp://esimfly.net",
       "api.url \"ftp://esimfly.net\" must start with https:// (or http:// for tests and local "
       "proxies); write e.g. https://esimfly.net"},
      {"https://user:pw@esimfly.net",
       "api.url must not contain a user name or password (user@host); the API signs requests "
       "with api.access_code and the secret key instead"},
      {"https://esim fly.net", "api.url \"https://esim fly.net\" contains whitespace; remove it"},
      {"https://esimfly.net/?a=1",
       "api.url \"https://esimfly.net/?a=1\" must not contain a query or fragment (? or #); give "
       "only the base URL, e.g. https://esimfly.net"},
      {"https://[::1",
       "api.url \"https://[::1\" has an unclosed \"[\"; write an IPv6 address as "
       "[::1]"},
      {"https://[::1]x",
       "api.url \"https://[::1]x\" has text after the \"]\"; write [ADDRESS]:PORT"},
      {"https:///path",
       "api.url \"https:///path\" has no host name; write e.g. "
       "https://esimfly.net"},
      {"https://esimfly.net:0",
       "api.url \"https://esimfly.net:0\" has an invalid port \"0\"; write a number from 1 to "
       "65535 after the colon, or no colon"},
      {"https://esimfly.net:",
       "api.url \"https://esimfly.net:\" has an invalid port \"\"; write a number from 1 to "
       "65535 after the colon, or no colon"},
  };
  for (const auto& [url, error] : cases) {
    const UrlCheck check = NormalizeApiUrl(url);
    EXPECT_EQ(check.error, error) << url;
    EXPECT_EQ(check.url, "") << url;
  }
}

TEST(CheckPublicUrlTest, KeepsAValidUrlAsWritten) {
  for (const std::string url :
       {"https://esim.example.com/webhook", "HTTPS://Esim.Example.com/hook/",
        "https://[2001:db8::1]:8443/webhook?tenant=a", "https://esim.example.com:443"}) {
    const UrlCheck check = CheckPublicUrl(url);
    EXPECT_EQ(check.error, "") << url;
    EXPECT_EQ(check.url, url);
  }
}

TEST(CheckPublicUrlTest, RefusalsSayWhatToWrite) {
  const std::string example = "write e.g. https://esim.example.com/webhook";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"http://user:pw@esim.example.com/webhook",
       "webhook.public_url must not contain a user name or password (user@host); deliveries "
       "are authenticated by their signature"},
      {"http://esim.example.com/webhook",
       "webhook.public_url \"http://esim.example.com/webhook\" must start with https:// (the "
       "vendor delivers to HTTPS URLs only); " +
           example},
      {"https://esim.example.com/web hook",
       "webhook.public_url \"https://esim.example.com/web hook\" contains whitespace; remove it"},
      {"https://esim.example.com/webhook#x",
       "webhook.public_url \"https://esim.example.com/webhook#x\" must not contain a fragment "
       "(#); " +
           example},
      {"https://[::1/webhook",
       "webhook.public_url \"https://[::1/webhook\" has a malformed IPv6 address; " + example},
      {"https://[::1]x/webhook",
       "webhook.public_url \"https://[::1]x/webhook\" has a malformed IPv6 address; " + example},
      {"https:///webhook", "webhook.public_url \"https:///webhook\" has no host name; " + example},
      {"https://[::1]:/webhook",
       "webhook.public_url \"https://[::1]:/webhook\" has an invalid port; write a number from "
       "1 to 65535 after the colon, or no colon"},
      {"https://esim.example.com:/webhook",
       "webhook.public_url \"https://esim.example.com:/webhook\" has an invalid port; write a "
       "number from 1 to 65535 after the colon, or no colon"},
      {"https://esim.example.com/" + std::string(2048, 'a'),
       "webhook.public_url is longer than 2048 characters; use a shorter URL"},
  };
  for (const auto& [url, error] : cases) {
    const UrlCheck check = CheckPublicUrl(url);
    EXPECT_EQ(check.error, error) << url;
    EXPECT_EQ(check.url, "") << url;
  }
}

}  // namespace
}  // namespace esim
