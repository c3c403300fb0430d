#include "signer.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace esim {
namespace {

TEST(SignerTest, MatchesTheSpecWorkedVector) {
  EXPECT_EQ(ComputeSignature("sk_your_secret_key", "1767225600000",
                             "3b241101-e2bb-4255-8caf-4136c566a962", "esf_your_access_code",
                             R"({"iccid":"8948010010036785060"})"),
            "DC680D6C4FB1E005AFBA5104FF6C94D660CD23EE2801891EFF54362440F29172");
}

TEST(SignerTest, SignRequestFillsAllFourHeaders) {
  const SignedHeaders headers =
      SignRequest("esf_your_access_code", "sk_your_secret_key", 1767225600000,
                  "3b241101-e2bb-4255-8caf-4136c566a962", R"({"iccid":"8948010010036785060"})");
  EXPECT_EQ(headers.access_code, "esf_your_access_code");
  EXPECT_EQ(headers.request_id, "3b241101-e2bb-4255-8caf-4136c566a962");
  EXPECT_EQ(headers.timestamp, "1767225600000");
  EXPECT_EQ(headers.signature, "DC680D6C4FB1E005AFBA5104FF6C94D660CD23EE2801891EFF54362440F29172");
}

TEST(SignerTest, SignatureCoversEveryPartOfTheMessage) {
  const std::string base = ComputeSignature("k", "1", "id", "code", "body");
  EXPECT_NE(base, ComputeSignature("K", "1", "id", "code", "body"));
  EXPECT_NE(base, ComputeSignature("k", "2", "id", "code", "body"));
  EXPECT_NE(base, ComputeSignature("k", "1", "iD", "code", "body"));
  EXPECT_NE(base, ComputeSignature("k", "1", "id", "codE", "body"));
  EXPECT_NE(base, ComputeSignature("k", "1", "id", "code", "body "));
}

TEST(SignerTest, RequestIdsAreFreshUuidV4) {
  const std::regex uuid_v4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewRequestId();
    ASSERT_TRUE(std::regex_match(id, uuid_v4)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace esim
