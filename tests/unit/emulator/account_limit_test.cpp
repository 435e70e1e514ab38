// The emulator's account limit: a token bucket per API key, a separate one for runs, 429 with
// or without Retry-After, the knee's slowdown, knobs changed at run time; first the plain
// logic on a manual clock, then through the Emulator (the 429 answer, the ledger, the hook).
#include "account_limit.hpp"

#include <gtest/gtest.h>

#include "emulator_fixture.hpp"

namespace emulator {
namespace {

using namespace std::chrono_literals;

AccountLimitKnobs limit(double per_second, double burst = 0) {
  AccountLimitKnobs k;
  k.calls_per_second = per_second;
  k.burst = burst;
  return k;
}

TEST(AccountLimits, NoLimitAdmitsEverything) {
  ManualClock clock;
  AccountLimits limits{AccountLimitKnobs{}};
  for (int i = 0; i < 10'000; ++i) EXPECT_FALSE(limits.admit(0, i % 4 == 3, clock.now()).refused);
}

TEST(AccountLimits, TheBurstThenTheRateThenRetryAfter) {
  ManualClock clock;
  AccountLimits limits(limit(100, 10));
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(limits.admit(0, false, clock.now()).refused) << i;
  AccountDecision refused = limits.admit(0, false, clock.now());
  EXPECT_TRUE(refused.refused);
  ASSERT_TRUE(refused.retry_after_s);
  EXPECT_EQ(*refused.retry_after_s, 1) << "rounded up to a whole second";
  clock.advance(10ms);  // one token at 100/s
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused);
  EXPECT_TRUE(limits.admit(0, false, clock.now()).refused);
  // Over a second at the limit: about 100 admitted, the rest refused.
  int admitted = 0;
  for (int ms = 0; ms < 1000; ++ms) {
    clock.advance(1ms);
    for (int k = 0; k < 3; ++k) admitted += limits.admit(0, false, clock.now()).refused ? 0 : 1;
  }
  EXPECT_NEAR(admitted, 100, 2);
}

TEST(AccountLimits, EachApiKeyIsItsOwnAccount) {
  ManualClock clock;
  AccountLimits limits(limit(10, 1));
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused);
  EXPECT_TRUE(limits.admit(0, false, clock.now()).refused);
  EXPECT_FALSE(limits.admit(1, false, clock.now()).refused) << "another key's bucket is full";
}

TEST(AccountLimits, RunsHaveTheirOwnLimitAndRetryAfterIsAKnob) {
  ManualClock clock;
  AccountLimitKnobs k = limit(1000, 1000);
  k.runs_per_second = 2;  // burst 1
  k.retry_after = false;
  AccountLimits limits(k);
  EXPECT_FALSE(limits.admit(0, true, clock.now()).refused);
  AccountDecision second_run = limits.admit(0, true, clock.now());
  EXPECT_TRUE(second_run.refused);
  EXPECT_FALSE(second_run.retry_after_s) << "the knob is off";
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused) << "other calls pass";
  clock.advance(500ms);
  EXPECT_FALSE(limits.admit(0, true, clock.now()).refused);
}

TEST(AccountLimits, AnswersSlowDownPastTheKnee) {
  ManualClock clock;
  AccountLimitKnobs k = limit(100, 100);
  k.knee = 0.5;
  k.knee_max_delay_ms = 40;
  AccountLimits limits(k);
  std::vector<std::chrono::milliseconds> delays;
  for (int i = 0; i < 100; ++i) delays.push_back(limits.admit(0, false, clock.now()).delay);
  EXPECT_EQ(delays[10], 0ms) << "below the knee";
  EXPECT_GT(delays[75], 0ms);
  EXPECT_LT(delays[75], delays[99]);
  EXPECT_EQ(delays[99], 40ms) << "at the limit";
  clock.advance(3s);  // quiet again
  EXPECT_EQ(limits.admit(0, false, clock.now()).delay, 0ms);
}

TEST(AccountLimits, NewKnobsApplyAtOnce) {
  ManualClock clock;
  AccountLimits limits(limit(1000, 1000));
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused);
  limits.set_knobs(limit(10, 2));  // the full bucket is cut to the new burst
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused);
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused);
  EXPECT_TRUE(limits.admit(0, false, clock.now()).refused);
  limits.set_knobs(AccountLimitKnobs{});
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused);
}

class AccountLimitApi : public testing::EmulatorFixture {};

TEST_F(AccountLimitApi, BeyondTheLimitA429WithRetryAfterCountedInTheLedger) {
  EmulatorSettings settings;
  settings.account_limit = limit(5, 2);
  start(settings);
  EXPECT_EQ(create("img-gen-diffusers", job_a).status, 200);
  EXPECT_EQ(create("img-gen-diffusers", job_b).status, 200);
  testing::Reply refused = call("GET", job(job_a));
  EXPECT_EQ(refused.status, 429);
  ASSERT_TRUE(refused.raw.retry_after_s);
  EXPECT_EQ(*refused.raw.retry_after_s, 1);
  EXPECT_EQ(exchange("demo-key").status, 200) << "token exchanges are not limited";
  clock_.advance(200ms);
  EXPECT_EQ(call("GET", job(job_a)).status, 200);
  testing::Reply ledger = call("GET", "/_emulator/ledger/summary");
  EXPECT_EQ(ledger.obj().at("throttled429").as_int64(), 1);
}

TEST_F(AccountLimitApi, TheLimitIsSetAndReadThroughTheConfigHook) {
  testing::Reply set = call("POST", "/_emulator/config",
                            R"({"rateLimitPerSecond":1,"rateLimitRetryAfter":false,"kneeMaxDelayMs":5})");
  ASSERT_EQ(set.status, 200) << set.raw.body;
  EXPECT_EQ(set.obj().at("rateLimitPerSecond").as_double(), 1);
  EXPECT_EQ(set.obj().at("rateLimitRetryAfter").as_bool(), false);
  EXPECT_EQ(create("img-gen-diffusers", job_a).status, 200);
  testing::Reply refused = call("GET", job(job_a));
  EXPECT_EQ(refused.status, 429);
  EXPECT_FALSE(refused.raw.retry_after_s);
  EXPECT_EQ(call("POST", "/_emulator/config", R"({"knee":2})").status, 400);
  EXPECT_EQ(call("POST", "/_emulator/config", R"({"rateLimitPerSecond":"many"})").status, 400);
  EXPECT_EQ(call("POST", "/_emulator/config", R"({"rateLimitPerSecond":0})").status, 200);
  EXPECT_EQ(call("GET", job(job_a)).status, 200);
}

}  // namespace
}  // namespace emulator
