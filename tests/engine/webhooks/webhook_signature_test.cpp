// The signature of a webhook delivery: HMAC-SHA256 of "<timestamp>.<body>" in lower-case hex.
#include <gtest/gtest.h>

#include "engine/webhooks/signature.h"

namespace leadscore::webhooks {
namespace {

TEST(WebhookSignature, MatchesTheHmacSha256TestVectors) {
  // RFC 4231, test cases 1 and 2.
  EXPECT_EQ(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookSignature, SignsTimestampDotBodyWithTheSecret) {
  // printf '%s' '1700000000.{"id":1}' | openssl dgst -sha256 -hmac s3cret
  EXPECT_EQ(signature("s3cret", "1700000000", R"({"id":1})"),
            "sha256=" + hmac_sha256_hex("s3cret", R"(1700000000.{"id":1})"));
  EXPECT_EQ(signature("s3cret", "1700000000", R"({"id":1})"),
            "sha256=ee0658aa4e37018df69c24227df01e0f680eb3b87c7f1f9bd936e283cfe01d9b");
}

TEST(WebhookSignature, ChangesWithTheSecretTheTimestampAndTheBody) {
  const std::string base = signature("a", "1", "{}");
  EXPECT_NE(signature("b", "1", "{}"), base);
  EXPECT_NE(signature("a", "2", "{}"), base);
  EXPECT_NE(signature("a", "1", "{ }"), base);
}

}  // namespace
}  // namespace leadscore::webhooks
