// Role: drives the async token cache and the API client over a scripted transport: one
// exchange for many concurrent callers, a failed exchange reported to every waiter without a
// storm of new ones, the hold after a refused key, background refresh in the soft margin, and
// the 401 rule (refresh once, keyed to the rejected token; a late 401 with an old token costs
// no extra exchange). Time is a ManualClock; the io_context is only polled.
#include "api/token_cache.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "api/api_client.hpp"
#include "scripted_transport.hpp"

using namespace std::chrono_literals;
using namespace submitd;
using namespace submitd::testing;
namespace asio = boost::asio;

namespace {

class TokenCacheTest : public ::testing::Test {
 protected:
  asio::io_context io;
  ManualClock clock;
  ScriptedTransport transport{io};
  api::TokenTiming timing{300s, 30s, 60s};
  std::unique_ptr<api::TokenCache> cache;
  int minted = 0;

  void SetUp() override {
    transport.answer = [this](const api::HttpCall& call) {
      if (call.endpoint == api::Endpoint::token) return grant("tok-" + std::to_string(++minted), 3600);
      return http(200);
    };
    make_cache();
  }
  void make_cache() {
    cache = std::make_unique<api::TokenCache>(io.get_executor(), transport, "/v1/auth/access_token",
                                              "secret-key", clock, timing);
  }
  // Starts a token() call; its result lands in *out when it finishes.
  void ask(std::shared_ptr<std::optional<api::TokenResult>> out) {
    asio::co_spawn(io, [this, out]() -> asio::awaitable<void> { *out = co_await cache->token(); },
                   asio::detached);
  }
  std::vector<std::shared_ptr<std::optional<api::TokenResult>>> ask_many(int n) {
    std::vector<std::shared_ptr<std::optional<api::TokenResult>>> results;
    for (int i = 0; i < n; ++i) {
      results.push_back(std::make_shared<std::optional<api::TokenResult>>());
      ask(results.back());
    }
    return results;
  }
};

TEST_F(TokenCacheTest, ManyConcurrentCallersCauseOneExchange) {
  transport.park = true;
  auto results = ask_many(50);
  settle(io);
  EXPECT_EQ(transport.calls.size(), 1u);  // the rest wait for it
  for (auto& r : results) EXPECT_FALSE(r->has_value());
  transport.release_parked();
  settle(io);
  EXPECT_EQ(transport.count(api::Endpoint::token), 1u);
  for (auto& r : results) {
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ((*r)->token, "tok-1");
  }
  // The key travels only in the exchange body.
  EXPECT_NE(transport.calls[0].body.find("secret-key"), std::string::npos);
  EXPECT_TRUE(transport.calls[0].authorization.empty());
}

TEST_F(TokenCacheTest, FailedExchangeIsReportedToEveryWaiterWithoutNewExchanges) {
  transport.park = true;
  transport.answer = [](const api::HttpCall&) { return http(503, R"({"code":14,"message":"unavailable"})"); };
  auto results = ask_many(20);
  settle(io);
  transport.release_parked();
  settle(io);
  EXPECT_EQ(transport.calls.size(), 1u);
  for (auto& r : results) {
    ASSERT_TRUE(r->has_value());
    EXPECT_FALSE((*r)->ok());
    EXPECT_FALSE((*r)->key_rejected);
    EXPECT_NE((*r)->error.find("unavailable"), std::string::npos) << (*r)->error;
  }
  // Not a refused key: the next caller may try again at once.
  transport.park = false;
  transport.answer = [](const api::HttpCall&) { return grant("tok-after", 3600); };
  auto again = ask_many(1);
  settle(io);
  EXPECT_EQ((*again[0])->token, "tok-after");
  EXPECT_EQ(transport.calls.size(), 2u);
}

TEST_F(TokenCacheTest, RefusedKeyIsAskedAgainOncePerHoldNotPerCaller) {
  transport.answer = [](const api::HttpCall&) {
    return http(401, R"({"ok":false,"message":"invalid api key"})");
  };
  auto first = ask_many(1);
  settle(io);
  ASSERT_TRUE(first[0]->has_value());
  EXPECT_TRUE((*first[0])->key_rejected);
  EXPECT_NE((*first[0])->error.find("check the API key"), std::string::npos);
  EXPECT_EQ((*first[0])->error.find("secret-key"), std::string::npos);
  // Within the hold, callers get the refusal at once and no exchange is made.
  clock.advance(59s);
  auto during = ask_many(100);
  settle(io);
  EXPECT_EQ(transport.calls.size(), 1u);
  for (auto& r : during) EXPECT_TRUE((*r)->key_rejected);
  clock.advance(1s);
  ask_many(1);
  settle(io);
  EXPECT_EQ(transport.calls.size(), 2u);
  // A new key is tried at once.
  transport.answer = [](const api::HttpCall&) { return grant("tok-new-key", 3600); };
  cache->set_api_key("rotated-key");
  auto rotated = ask_many(1);
  settle(io);
  EXPECT_EQ((*rotated[0])->token, "tok-new-key");
  EXPECT_NE(transport.calls.back().body.find("rotated-key"), std::string::npos);
}

// The daemon's SIGHUP sets a reloaded api.blocked_retry here; the cache used to keep the
// hold it was built with.
TEST_F(TokenCacheTest, ReloadedHoldAppliesToTheNextRefusedKey) {
  transport.answer = [](const api::HttpCall&) {
    return http(401, R"({"ok":false,"message":"invalid api key"})");
  };
  cache->set_key_refused_hold(10s);  // built with 60 s
  ask_many(1);
  settle(io);
  ASSERT_EQ(transport.calls.size(), 1u);
  clock.advance(9s);
  ask_many(5);
  settle(io);
  EXPECT_EQ(transport.calls.size(), 1u);  // still held
  clock.advance(1s);
  ask_many(5);
  settle(io);
  EXPECT_EQ(transport.calls.size(), 2u);  // the new hold is over: one exchange, not 60 s later
}

// A 200 without a usable token (an HTML page, a token with a CRLF) was asked again at once by
// every next caller, about 11 times a second: now it is held like a refused key.
TEST_F(TokenCacheTest, UnusableGrantIsHeldLikeARefusedKeyAndReported) {
  for (std::string body : {std::string("<html><body>Sign in to the Wi-Fi</body></html>"),
                           std::string(R"({"token":"abc\r\nX-Evil: 1","expiresIn":3600})")}) {
    make_cache();
    transport.calls.clear();
    transport.answer = [body](const api::HttpCall&) { return http(200, body); };
    auto first = ask_many(1);
    settle(io);
    ASSERT_TRUE(first[0]->has_value());
    EXPECT_FALSE((*first[0])->ok());
    EXPECT_TRUE((*first[0])->key_rejected);
    EXPECT_NE((*first[0])->error.find("api.base_url"), std::string::npos) << (*first[0])->error;
    EXPECT_TRUE(cache->grant_unusable());
    clock.advance(59s);
    ask_many(20);
    settle(io);
    EXPECT_EQ(transport.calls.size(), 1u) << body;  // within the hold: no new exchange
    clock.advance(1s);
    transport.answer = [](const api::HttpCall&) { return grant("tok-good", 3600); };
    auto later = ask_many(1);
    settle(io);
    EXPECT_EQ((*later[0])->token, "tok-good");
    EXPECT_FALSE(cache->grant_unusable());
    EXPECT_EQ(transport.calls.size(), 2u);
  }
}

TEST_F(TokenCacheTest, SoftMarginRefreshesInTheBackgroundWhileCallersKeepTheToken) {
  ask_many(1);
  settle(io);
  clock.advance(3600s - 300s);  // inside the soft margin
  transport.park = true;
  auto during = ask_many(10);
  settle(io);
  EXPECT_EQ(transport.count(api::Endpoint::token), 2u);  // one background refresh
  for (auto& r : during) {
    ASSERT_TRUE(r->has_value());  // nobody waited for it
    EXPECT_EQ((*r)->token, "tok-1");
  }
  transport.release_parked();
  settle(io);
  auto after = ask_many(1);
  settle(io);
  EXPECT_EQ((*after[0])->token, "tok-2");
}

TEST_F(TokenCacheTest, PastTheHardMarginCallersWaitForTheNewToken) {
  ask_many(1);
  settle(io);
  clock.advance(3600s - 30s);
  transport.park = true;
  auto during = ask_many(10);
  settle(io);
  for (auto& r : during) EXPECT_FALSE(r->has_value());
  transport.release_parked();
  settle(io);
  EXPECT_EQ(transport.count(api::Endpoint::token), 2u);
  for (auto& r : during) EXPECT_EQ((*r)->token, "tok-2");
}

class ApiClientTest : public TokenCacheTest {
 protected:
  std::unique_ptr<api::ApiClient> client;
  void SetUp() override {
    TokenCacheTest::SetUp();
    client = std::make_unique<api::ApiClient>(transport, *cache);
  }
  std::shared_ptr<std::optional<api::ApiReply>> call() {
    auto out = std::make_shared<std::optional<api::ApiReply>>();
    asio::co_spawn(io, [this, out]() -> asio::awaitable<void> {
      api::HttpCall c;
      c.endpoint = api::Endpoint::get;
      c.target = "/v1/customer/jobs/x";
      *out = co_await client->send(c);
    }, asio::detached);
    return out;
  }
};

TEST_F(ApiClientTest, A401RefreshesOnceAndRetriesWithTheNewToken) {
  transport.answer = [this](const api::HttpCall& c) {
    if (c.endpoint == api::Endpoint::token) return grant("tok-" + std::to_string(++minted), 3600);
    return c.authorization == "tok-1" ? http(401) : http(200, "{\"job\":{}}");
  };
  auto reply = call();
  settle(io);
  ASSERT_TRUE(reply->has_value());
  EXPECT_EQ((*reply)->http.status, 200);
  EXPECT_EQ(transport.count(api::Endpoint::token), 2u);
  EXPECT_EQ(transport.count(api::Endpoint::get), 2u);
  EXPECT_EQ(transport.calls.back().authorization, "tok-2");
}

TEST_F(ApiClientTest, ConcurrentAndLate401sForOneTokenCauseOneRefresh) {
  call();
  settle(io);  // tok-1 minted and used
  // Now the server rejects tok-1: 30 calls in flight with it all come back 401.
  transport.park = true;
  transport.answer = [this](const api::HttpCall& c) {
    if (c.endpoint == api::Endpoint::token) return grant("tok-" + std::to_string(++minted), 3600);
    return c.authorization == "tok-1" ? http(401) : http(200);
  };
  std::vector<std::shared_ptr<std::optional<api::ApiReply>>> replies;
  for (int i = 0; i < 30; ++i) replies.push_back(call());
  settle(io);
  EXPECT_EQ(transport.parked(), 30u);
  // Release them one wave at a time until all are done (their retries park too).
  for (int wave = 0; wave < 5 && transport.parked() > 0; ++wave) {
    transport.release_parked();
    settle(io);
  }
  for (auto& r : replies) {
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ((*r)->http.status, 200);
  }
  EXPECT_EQ(transport.count(api::Endpoint::token), 2u);  // tok-1 and one refresh, not 30
}

TEST_F(ApiClientTest, A401WithAFreshTokenTooIsReportedNotRetriedForever) {
  transport.answer = [this](const api::HttpCall& c) {
    if (c.endpoint == api::Endpoint::token) return grant("tok-" + std::to_string(++minted), 3600);
    return http(401, R"({"code":16,"message":"unauthenticated"})");
  };
  auto reply = call();
  settle(io);
  ASSERT_TRUE(reply->has_value());
  EXPECT_EQ((*reply)->http.status, 401);
  EXPECT_EQ(transport.count(api::Endpoint::get), 2u);  // the call and one retry
  EXPECT_EQ(transport.count(api::Endpoint::token), 2u);
}

TEST_F(ApiClientTest, NoTokenMeansNoCallAndTheReasonIsReported) {
  transport.answer = [](const api::HttpCall& c) {
    if (c.endpoint == api::Endpoint::token) return http(403, R"({"message":"key disabled"})");
    return http(200);
  };
  auto reply = call();
  settle(io);
  ASSERT_TRUE(reply->has_value());
  EXPECT_TRUE((*reply)->token_unavailable);
  EXPECT_TRUE((*reply)->key_rejected);
  EXPECT_EQ(transport.count(api::Endpoint::get), 0u);
}

}  // namespace
