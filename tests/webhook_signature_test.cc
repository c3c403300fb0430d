#include "webhook_signature.h"

#include <gtest/gtest.h>

namespace esim {
namespace {

// Computed with: printf '%s' "$body" | openssl dgst -sha256 -hmac whsec_test
constexpr char kBody[] =
    R"({"event":"esim.usage.threshold","data":{"iccid":"8948010010092445039"}})";
constexpr char kKnown[] = "sha256=2b4da7a906731c3965b2ed27fb5201476b0e6f69171e1c9e2658763ba60a3ec3";

TEST(WebhookSignatureTest, KnownVectorFromOpenssl) {
  EXPECT_EQ(WebhookSignature("whsec_test", kBody), kKnown);
  EXPECT_EQ(WebhookSignature("whsec_test", ""),
            "sha256=43c0f4d23c8e8841358fad4624b1a592799222b29f25bb59baea43cdcb522ed1");
  EXPECT_TRUE(VerifyWebhookSignature("whsec_test", kBody, kKnown));
}

TEST(WebhookSignatureTest, RefusesEveryWrongSignature) {
  std::string flipped = kKnown;
  flipped.back() = flipped.back() == '3' ? '4' : '3';
  EXPECT_FALSE(VerifyWebhookSignature("whsec_test", kBody, flipped));
  std::string first = kKnown;
  first[7] = first[7] == '2' ? '3' : '2';
  EXPECT_FALSE(VerifyWebhookSignature("whsec_test", kBody, first));
  EXPECT_FALSE(VerifyWebhookSignature("whsec_other", kBody, kKnown));
  EXPECT_FALSE(VerifyWebhookSignature("whsec_test", std::string(kBody) + " ", kKnown));
  EXPECT_FALSE(VerifyWebhookSignature("whsec_test", kBody, ""));
  EXPECT_FALSE(VerifyWebhookSignature("whsec_test", kBody, std::string(kKnown).substr(7)));
  EXPECT_FALSE(VerifyWebhookSignature("whsec_test", kBody, std::string(kKnown) + "0"));
  std::string md5 = kKnown;
  md5.replace(0, 6, "sha1==");
  EXPECT_FALSE(VerifyWebhookSignature("whsec_test", kBody, md5));
  std::string upper = kKnown;
  for (size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  EXPECT_FALSE(VerifyWebhookSignature("whsec_test", kBody, upper));
  std::string not_hex = kKnown;
  not_hex[10] = 'g';
  EXPECT_FALSE(VerifyWebhookSignature("whsec_test", kBody, not_hex));
}

TEST(WebhookSignatureTest, EmptySecretNeverMatches) {
  EXPECT_FALSE(VerifyWebhookSignature("", kBody, WebhookSignature("", kBody)));
}

TEST(WebhookSignatureTest, RawBytesCountNotTheirJson) {
  const std::string spaced = R"({ "event" : "esim.usage.threshold" })";
  const std::string compact = R"({"event":"esim.usage.threshold"})";
  EXPECT_FALSE(VerifyWebhookSignature("s", compact, WebhookSignature("s", spaced)));
  const std::string binary("a\0b\xff", 4);
  EXPECT_TRUE(VerifyWebhookSignature("s", binary, WebhookSignature("s", binary)));
}

}  // namespace
}  // namespace esim
