// TokenIssuer: key checks, token uniqueness, expiry at exactly the lifetime.
#include "token_issuer.hpp"

#include <gtest/gtest.h>

#include <set>

namespace emulator {
namespace {

using namespace std::chrono_literals;

TimePoint t0() { return TimePoint{std::chrono::seconds{1'700'000'000}}; }

TEST(TokenIssuer, OnlyConfiguredKeysGetTokens) {
  TokenIssuer issuer({"k1", "k2"}, 3600s);
  EXPECT_TRUE(issuer.exchange("k1", t0()));
  EXPECT_TRUE(issuer.exchange("k2", t0()));
  EXPECT_FALSE(issuer.exchange("k3", t0()));
  EXPECT_FALSE(issuer.exchange("k", t0()));
  EXPECT_FALSE(issuer.exchange("", t0()));
}

TEST(TokenIssuer, RotatedKeysApplyToExchangesNotToTokensAlreadyOut) {
  TokenIssuer issuer({"old"}, 3600s);
  auto before = issuer.exchange("old", t0());
  ASSERT_TRUE(before);
  issuer.set_api_keys({"old", "new"});
  EXPECT_TRUE(issuer.exchange("new", t0()));
  EXPECT_TRUE(issuer.exchange("old", t0()));
  issuer.set_api_keys({"new"});
  EXPECT_FALSE(issuer.exchange("old", t0()));
  EXPECT_TRUE(issuer.exchange("new", t0()));
  EXPECT_EQ(issuer.check(before->token, t0()), TokenCheck::valid);
}

TEST(TokenIssuer, TokensAreUniqueOpaqueHex) {
  TokenIssuer issuer({"k"}, 3600s);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto t = issuer.exchange("k", t0());
    ASSERT_TRUE(t);
    EXPECT_EQ(t->token.size(), 64u);
    EXPECT_EQ(t->token.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_TRUE(seen.insert(t->token).second);
  }
}

TEST(TokenIssuer, TokensExpireAtTheirLifetime) {
  TokenIssuer issuer({"k"}, 10s);
  auto t = issuer.exchange("k", t0());
  ASSERT_TRUE(t);
  EXPECT_EQ(t->lifetime, 10s);
  EXPECT_EQ(issuer.check(t->token, t0()), TokenCheck::valid);
  EXPECT_EQ(issuer.check(t->token, t0() + 9999ms), TokenCheck::valid);
  EXPECT_EQ(issuer.check(t->token, t0() + 10s), TokenCheck::expired);
  EXPECT_EQ(issuer.check("other", t0()), TokenCheck::unknown);
  EXPECT_EQ(issuer.check("", t0()), TokenCheck::missing);
}

TEST(TokenIssuer, LifetimeChangesApplyToNewTokensOnly) {
  TokenIssuer issuer({"k"}, 100s);
  auto old_token = issuer.exchange("k", t0());
  issuer.set_lifetime(1s);
  auto new_token = issuer.exchange("k", t0());
  EXPECT_EQ(issuer.check(old_token->token, t0() + 50s), TokenCheck::valid);
  EXPECT_EQ(issuer.check(new_token->token, t0() + 1s), TokenCheck::expired);
}

TEST(TokenIssuer, ExpiredTokensArePurgedAsTheTableGrows) {
  TokenIssuer issuer({"k"}, 1s);
  for (int i = 0; i < 3000; ++i) issuer.exchange("k", t0() + std::chrono::seconds{i});
  EXPECT_LT(issuer.live_tokens(), 2100u);
}

}  // namespace
}  // namespace emulator
