// Role: classification of API outcomes and retry timing (backoff, jitter, Retry-After).
#include "submit/retry_policy.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using namespace submitd;
using submit::Verdict;

namespace {
api::ApiReply reply_with(int status) {
  api::ApiReply r;
  r.http.status = status;
  return r;
}
api::ApiReply transport(api::TransportFailure f) {
  api::ApiReply r;
  r.http.failure = f;
  return r;
}
}  // namespace

TEST(RetryPolicy, Classifies) {
  EXPECT_EQ(submit::classify(reply_with(200)), Verdict::success);
  for (int s : {401, 408, 429, 500, 502, 503, 504}) {
    EXPECT_EQ(submit::classify(reply_with(s)), Verdict::transient) << s;
  }
  for (int s : {400, 403, 404, 409, 422}) {
    EXPECT_EQ(submit::classify(reply_with(s)), Verdict::final_failure) << s;
  }
  EXPECT_EQ(submit::classify(transport(api::TransportFailure::reset)), Verdict::transient);
  EXPECT_EQ(submit::classify(transport(api::TransportFailure::tls)), Verdict::transient);
  api::ApiReply no_token;
  no_token.token_unavailable = true;
  EXPECT_EQ(submit::classify(no_token), Verdict::transient);
}

TEST(RetryPolicy, RedirectsAreConfigurationTroubleDeferredSlowlyNeverFollowedOrFailed) {
  submit::RetryTiming t;
  t.base = 100ms;
  t.blocked_delay = 60000ms;
  const WallTime now = WallTime(std::chrono::seconds(1'000'000));
  for (int s : {301, 302, 303, 307, 308}) {
    EXPECT_EQ(submit::classify(reply_with(s)), Verdict::transient) << s;
    EXPECT_EQ(submit::retry_reason(reply_with(s)), "redirect") << s;
    EXPECT_GE(submit::transient_delay(t, 1, reply_with(s), now, 0.5), 60000ms) << s;
    EXPECT_NE(submit::describe_failure(reply_with(s)).find("api.base_url"), std::string::npos) << s;
  }
  EXPECT_LT(submit::transient_delay(t, 1, reply_with(503), now, 0.5), 60000ms);
}

TEST(RetryPolicy, ReasonsAreMetricLabels) {
  EXPECT_EQ(submit::retry_reason(reply_with(429)), "429");
  EXPECT_EQ(submit::retry_reason(reply_with(503)), "5xx");
  EXPECT_EQ(submit::retry_reason(transport(api::TransportFailure::timeout)), "timeout");
}

TEST(RetryPolicy, FullJitterBackoffIsCapped) {
  submit::RetryTiming t{200ms, 30000ms};
  EXPECT_EQ(submit::backoff_delay(t, 1, 0.0), 0ms);
  EXPECT_EQ(submit::backoff_delay(t, 1, 0.5), 100ms);
  EXPECT_EQ(submit::backoff_delay(t, 3, 0.5), 400ms);
  EXPECT_EQ(submit::backoff_delay(t, 40, 0.5), 15000ms);  // capped at 30 s before jitter
}

TEST(RetryPolicy, RetryAfterSecondsAndDatesAreClamped) {
  auto now = std::chrono::sys_days{std::chrono::year{1994} / 11 / 6} + 8h + 49min + 30s;
  EXPECT_EQ(submit::retry_after_delay("3", now, 300000ms), 3000ms);
  EXPECT_EQ(submit::retry_after_delay(" 10 ", now, 5000ms), 5000ms);
  EXPECT_EQ(submit::retry_after_delay("-4", now, 5000ms), 0ms);
  EXPECT_EQ(submit::retry_after_delay("Sun, 06 Nov 1994 08:49:37 GMT", now, 300000ms), 7000ms);
  EXPECT_EQ(submit::retry_after_delay("garbage", now, 300000ms), 0ms);
  EXPECT_EQ(submit::retry_after_delay("", now, 300000ms), 0ms);
}

// Found by fuzz_api_response: huge values overflowed into negative or zero waits.
TEST(RetryPolicy, RetryAfterFarOutOfRangeIsTheCapNeverAnOverflow) {
  auto now = std::chrono::sys_days{std::chrono::year{2026} / 11 / 28} + 12h + 500ms;
  EXPECT_EQ(submit::retry_after_delay("10000000000000000", now, 300000ms), 300000ms);
  EXPECT_EQ(submit::retry_after_delay("99999999999999999999", now, 300000ms), 300000ms);
  EXPECT_EQ(submit::retry_after_delay("Thu, 01 Jan 9017 00:00:00 GMT", now, 300000ms), 300000ms);
  EXPECT_EQ(submit::retry_after_delay("Fri, 01 Jan 1600 00:00:00 GMT", now, 300000ms), 0ms);
  // Sub-second precision of "now" is kept: 12:00:02 is 1.5 s after 12:00:00.5.
  EXPECT_EQ(submit::retry_after_delay("Sat, 28 Nov 2026 12:00:02 GMT", now, 300000ms), 1500ms);
}
