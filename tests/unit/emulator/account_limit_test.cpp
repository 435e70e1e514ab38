// The emulator's account limit: a token bucket per API key, a separate one for runs, 429 with
// or without Retry-After, the knee's slowdown, knobs changed at run time; first the plain
// logic on a manual clock, then through the Emulator (the 429 answer, the ledger, the hook).
#include "account_limit.hpp"

#include <gtest/gtest.h>

#include "command_line.hpp"
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
  for (int i = 0; i < 50; ++i) EXPECT_EQ(delays[i], 0ms) << "call " << i + 1 << " is not past the knee";
  for (int i = 1; i < 100; ++i) EXPECT_GE(delays[i], delays[i - 1]) << "call " << i + 1;
  EXPECT_GT(delays[75], 0ms);
  EXPECT_LT(delays[75], delays[99]);
  EXPECT_EQ(delays[99], 40ms) << "at the limit";
  clock.advance(3s);  // quiet again
  EXPECT_EQ(limits.admit(0, false, clock.now()).delay, 0ms);
  // New knobs apply to the delay at once: 5 calls/s is now half the limit, not 5%.
  k.calls_per_second = 10;
  k.knee = 0.25;
  k.knee_max_delay_ms = 100;
  limits.set_knobs(k);
  std::chrono::milliseconds fifth{};
  for (int i = 0; i < 4; ++i) fifth = limits.admit(0, false, clock.now()).delay;
  EXPECT_EQ(fifth, 33ms) << "the fifth call: (0.5 - 0.25) / (1 - 0.25) of 100 ms";
  k.knee_max_delay_ms = 0;
  limits.set_knobs(k);
  EXPECT_EQ(limits.admit(0, false, clock.now()).delay, 0ms) << "no knee delay configured";
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

TEST(AccountLimits, CallsBeyondTheBurstAreRefusedUntilTheBucketRefills) {
  ManualClock clock;
  AccountLimits limits(limit(4, 2));
  int admitted = 0;
  for (int i = 0; i < 12; ++i) admitted += limits.admit(0, false, clock.now()).refused ? 0 : 1;
  EXPECT_EQ(admitted, 2) << "12 calls at once: the burst of 2 passes, 10 are refused";
  clock.advance(250ms);  // 4/s: exactly one token
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused);
  EXPECT_TRUE(limits.admit(0, false, clock.now()).refused);
  clock.advance(10s);  // a long quiet time refills to the burst, not beyond
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused);
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused);
  EXPECT_TRUE(limits.admit(0, false, clock.now()).refused);
}

TEST(AccountLimits, RetryAfterIsTheWaitForATokenRoundedUpToWholeSeconds) {
  ManualClock clock;
  AccountLimits limits(limit(0.4, 1));  // a token every 2.5 s
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused);
  EXPECT_EQ(limits.admit(0, false, clock.now()).retry_after_s, 3) << "2.5 s, rounded up";
  clock.advance(1s);  // 0.4 tokens: 1.5 s to go
  EXPECT_EQ(limits.admit(0, false, clock.now()).retry_after_s, 2);
  clock.advance(1400ms);  // 0.96 tokens: 0.1 s to go, still at least 1
  EXPECT_EQ(limits.admit(0, false, clock.now()).retry_after_s, 1);
  clock.advance(100ms);
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused) << "refused calls took nothing";
}

TEST(AccountLimits, ARunNeedsBothBucketsAndARefusedRunCostsNoCall) {
  ManualClock clock;
  AccountLimitKnobs k = limit(2, 2);
  k.runs_per_second = 0.5;  // burst 1, then one run per 2 s
  AccountLimits limits(k);
  EXPECT_FALSE(limits.admit(0, true, clock.now()).refused);
  AccountDecision run = limits.admit(0, true, clock.now());
  EXPECT_TRUE(run.refused) << "the run bucket is empty";
  EXPECT_EQ(run.retry_after_s, 2);
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused) << "the refused run left its call";
  EXPECT_TRUE(limits.admit(0, false, clock.now()).refused);
  clock.advance(2s);  // both buckets have tokens again
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused);
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused);
  AccountDecision no_call = limits.admit(0, true, clock.now());
  EXPECT_TRUE(no_call.refused) << "a run also needs a call token";
  EXPECT_EQ(no_call.retry_after_s, 1);
  clock.advance(500ms);
  EXPECT_FALSE(limits.admit(0, true, clock.now()).refused);
}

TEST(AccountLimits, RaisingTheLimitAppliesAtOnceAndResetForgetsAccounts) {
  ManualClock clock;
  AccountLimits limits(limit(1, 1));
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused);
  EXPECT_TRUE(limits.admit(0, false, clock.now()).refused);
  limits.set_knobs(limit(1000, 1000));
  EXPECT_TRUE(limits.admit(0, false, clock.now()).refused) << "no tokens are handed out";
  clock.advance(5ms);  // but they now come at 1000/s
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limits.admit(0, false, clock.now()).refused) << i;
  EXPECT_TRUE(limits.admit(0, false, clock.now()).refused);
  limits.reset();
  EXPECT_FALSE(limits.admit(0, false, clock.now()).refused) << "a fresh account has its burst";
}

TEST(AccountLimits, FlagsSetTheKnobsAndBadValuesAreNamed) {
  ParsedCommandLine p = parse_command_line(
      {"--rate-limit-per-second", "5", "--rate-limit-burst=10", "--run-limit-per-second", "0.5",
       "--rate-limit-retry-after", "false", "--knee", "0.9", "--knee-max-delay-ms", "200"});
  ASSERT_TRUE(p.options) << p.error;
  const AccountLimitKnobs& k = p.options->account_limit;
  EXPECT_EQ(k.calls_per_second, 5);
  EXPECT_EQ(k.burst, 10);
  EXPECT_EQ(k.runs_per_second, 0.5);
  EXPECT_FALSE(k.retry_after);
  EXPECT_EQ(k.knee, 0.9);
  EXPECT_EQ(k.knee_max_delay_ms, 200);
  EXPECT_EQ(parse_command_line({"--rate-limit", "7", "--run-limit", "2"})
                .options->account_limit.runs_per_second,
            2);
  const AccountLimitKnobs defaults = parse_command_line({}).options->account_limit;
  EXPECT_EQ(defaults.calls_per_second, 0);
  EXPECT_TRUE(defaults.retry_after);
  EXPECT_EQ(defaults.knee, 0.8);
  EXPECT_EQ(defaults.knee_max_delay_ms, 0);
  EXPECT_EQ(parse_command_line({"--rate-limit-burst", "0.5"}).error,
            "--rate-limit-burst 0.5: expected 0 (the default) or a number of calls >= 1");
  EXPECT_EQ(parse_command_line({"--knee", "1.5"}).error, "--knee 1.5: expected a share in [0, 1]");
  EXPECT_EQ(parse_command_line({"--rate-limit", "-1"}).error,
            "--rate-limit -1: expected calls per second >= 0");
  EXPECT_EQ(parse_command_line({"--rate-limit-retry-after", "yes"}).error,
            "--rate-limit-retry-after yes: expected true or false");
  EXPECT_FALSE(parse_command_line({"--knee-max-delay-ms", "1.5"}).options);
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
  testing::Reply set =
      call("POST", "/_emulator/config",
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

TEST_F(AccountLimitApi, AllTokensOfAKeyShareItsBucketAcrossKeyRotation) {
  EmulatorSettings settings;
  settings.api_keys = {"demo-key", "other-key"};
  settings.account_limit = limit(0.1, 1);  // one call per 10 s
  start(settings);
  EXPECT_EQ(call("GET", jobs()).status, 200);
  const std::string second_token = exchange("demo-key").str("token");
  EXPECT_EQ(call("GET", jobs(), "", second_token).status, 429) << "a new token, the same account";
  ASSERT_EQ(call("POST", "/_emulator/config", R"({"apiKeys":["other-key","demo-key"]})").status,
            200);
  const std::string rotated = exchange("demo-key").str("token");
  EXPECT_EQ(call("GET", jobs(), "", rotated).status, 429) << "rotation does not refill the account";
  const std::string other = exchange("other-key").str("token");
  EXPECT_EQ(call("GET", jobs(), "", other).status, 200) << "another key is another account";
}

TEST_F(AccountLimitApi, HooksAreNeverLimitedAndResetClearsTheCountAndBuckets) {
  EmulatorSettings settings;
  settings.account_limit = limit(0.1, 1);
  start(settings);
  EXPECT_EQ(call("GET", jobs()).status, 200);
  testing::Reply refused = call("GET", jobs());
  ASSERT_EQ(refused.status, 429);
  // The body: ByteNite's GenericResponse shape, as its other 429s.
  EXPECT_EQ(refused.obj().at("ok"), false);
  EXPECT_EQ(refused.str("message"), "rate limit exceeded");
  EXPECT_EQ(refused.obj().at("error").at("code"), 429);
  EXPECT_EQ(refused.obj().at("error").at("message"), "Too Many Requests");
  EXPECT_EQ(refused.raw.retry_after_s, 10);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(call("GET", "/_emulator/ledger/summary").status, 200);
  EXPECT_EQ(call("GET", "/_emulator/ledger/summary").obj().at("throttled429"), 1);
  ASSERT_EQ(call("POST", "/_emulator/reset").status, 200);
  EXPECT_EQ(call("GET", "/_emulator/ledger/summary").obj().at("throttled429"), 0);
  EXPECT_EQ(call("GET", jobs()).status, 200) << "reset refilled the account";
}

TEST_F(AccountLimitApi, TheKneeDelaysAdmittedAnswersOnTopOfTheLatencyKnob) {
  EmulatorSettings settings;
  settings.account_limit = limit(10, 10);
  settings.account_limit.knee = 0;
  settings.account_limit.knee_max_delay_ms = 100;
  settings.faults.latency_ms = 7;
  start(settings);
  EXPECT_EQ(call("GET", jobs()).raw.delay, 17ms) << "1 call of 10/s: 10% of 100 ms, plus 7 ms";
  EXPECT_EQ(call("GET", jobs()).raw.delay, 27ms);
}

TEST_F(AccountLimitApi, TheConfigHookTakesTheSnakeCaseNamesAndChecksValues) {
  testing::Reply set = call("POST", "/_emulator/config",
                            R"({"rate_limit_per_second":2,"rate_limit_burst":3,)"
                            R"("run_limit_per_second":1,"rate_limit_retry_after":false,)"
                            R"("knee":0.5,"knee_max_delay_ms":250})");
  ASSERT_EQ(set.status, 200) << set.raw.body;
  EXPECT_EQ(set.obj().at("rateLimitPerSecond"), 2.0);
  EXPECT_EQ(set.obj().at("rateLimitBurst"), 3.0);
  EXPECT_EQ(set.obj().at("runLimitPerSecond"), 1.0);
  EXPECT_EQ(set.obj().at("rateLimitRetryAfter"), false);
  EXPECT_EQ(set.obj().at("knee"), 0.5);
  EXPECT_EQ(set.obj().at("kneeMaxDelayMs"), 250);
  for (const char* bad :
       {R"({"rate_limit_burst":0.5})", R"({"kneeMaxDelayMs":1.5})", R"({"knee_max_delay_ms":-1})",
        R"({"rateLimitRetryAfter":1})", R"({"runLimitPerSecond":null})"}) {
    testing::Reply r = call("POST", "/_emulator/config", bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_TRUE(r.obj().contains("error")) << bad;
  }
  EXPECT_EQ(call("GET", "/_emulator/config").obj().at("rateLimitBurst"), 3.0)
      << "bad values changed nothing";
}

}  // namespace
}  // namespace emulator
