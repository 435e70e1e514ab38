// Role: drives the rate limiter and the retry budget with an injected clock: permits are
// spaced at the configured rate, a budget spent by an outage paces retries at its floor
// instead of refusing them, and fresh calls earn retries back.
#include "submit/pacing.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using submitd::ManualClock;
using submitd::submit::CallPacer;
using submitd::submit::RateLimiter;
using submitd::submit::RetryBudget;
using submitd::submit::RetryBudgetSettings;

TEST(RateLimiter, UnlimitedNeverWaits) {
  ManualClock clock;
  RateLimiter r(0, 1);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(r.reserve(clock.now()), 0ns);
}

TEST(RateLimiter, BurstThenSpacedAtTheRate) {
  ManualClock clock;
  RateLimiter r(100, 10);  // 100/s, 10 at once
  for (int i = 0; i < 10; ++i) EXPECT_EQ(r.reserve(clock.now()), 0ns) << i;
  // The next callers queue 10 ms apart.
  EXPECT_EQ(r.reserve(clock.now()), 10ms);
  EXPECT_EQ(r.reserve(clock.now()), 20ms);
  clock.advance(1s);  // debt paid and the burst refilled (never beyond it)
  for (int i = 0; i < 10; ++i) EXPECT_EQ(r.reserve(clock.now()), 0ns) << i;
  EXPECT_GT(r.reserve(clock.now()), 0ns);
}

TEST(RateLimiter, SustainedRateMatchesTheSetting) {
  ManualClock clock;
  RateLimiter r(50, 5);
  // Callers that each wait what they are told: 500 permits take 10 s minus the burst.
  std::chrono::nanoseconds last{0};
  for (int i = 0; i < 500; ++i) last = r.reserve(clock.now());
  EXPECT_NEAR(std::chrono::duration<double>(last).count(), (500 - 5) / 50.0, 1e-6);
}

TEST(RetryBudget, FullBudgetAllowsABurstThenPacesAtTheFloor) {
  ManualClock clock;
  RetryBudget b(RetryBudgetSettings{0.5, 10});  // cap: 100 retries
  for (int i = 0; i < 100; ++i) EXPECT_EQ(b.reserve_retry(clock.now()), 0ns) << i;
  // Spent: further retries are delayed, not refused, 100 ms apart (10 per second).
  EXPECT_EQ(b.reserve_retry(clock.now()), 100ms);
  EXPECT_EQ(b.reserve_retry(clock.now()), 200ms);
}

TEST(RetryBudget, FreshCallsEarnRetries) {
  ManualClock clock;
  RetryBudget b(RetryBudgetSettings{0.5, 10});
  for (int i = 0; i < 100; ++i) b.reserve_retry(clock.now());
  EXPECT_NEAR(b.balance(), 0, 1e-9);
  for (int i = 0; i < 4; ++i) b.fresh_call(clock.now());
  EXPECT_EQ(b.reserve_retry(clock.now()), 0ns);  // 4 x 0.5 earned 2 retries
  EXPECT_EQ(b.reserve_retry(clock.now()), 0ns);
  EXPECT_GT(b.reserve_retry(clock.now()), 0ns);
}

TEST(RetryBudget, AnOutageDoesNotBecomeARetryStorm) {
  // 10,000 requests wait on a dead API; each retries as soon as the budget lets it. Over
  // 60 s of outage the retries sent stay at the burst plus the floor rate.
  ManualClock clock;
  RetryBudget b(RetryBudgetSettings{0.5, 10});
  int sent_within_minute = 0;
  for (int i = 0; i < 10000; ++i) {
    auto wait = b.reserve_retry(clock.now());
    if (wait <= 60s) ++sent_within_minute;
  }
  EXPECT_EQ(sent_within_minute, 100 + 10 * 60);  // the burst, then one every 100 ms
  // And nobody is refused: the last one is simply scheduled later.
  EXPECT_GT(b.reserve_retry(clock.now()), 900s);
}

namespace {
submitd::submit::AdaptiveRateSettings fixed_rate(double per_second) {
  submitd::submit::AdaptiveRateSettings s;
  s.enabled = false;
  s.ceiling = per_second;
  return s;
}
}  // namespace

TEST(CallPacer, RetriesPassTheBudgetAndEveryCallTheRateLimit) {
  ManualClock clock;
  CallPacer p(fixed_rate(1000), RetryBudget(RetryBudgetSettings{0, 1}));  // cap 10
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p.admit(true, false, clock.now()).wait, 0ns);
  auto held = p.admit(true, false, clock.now());
  EXPECT_EQ(held.wait, 1s);
  EXPECT_EQ(held.by, CallPacer::By::retry_budget);
  auto fresh = p.admit(false, false, clock.now());  // fresh calls never wait for the budget
  EXPECT_EQ(fresh.wait, 0ns);

  CallPacer limited(fixed_rate(10), RetryBudget(RetryBudgetSettings{}));  // burst: a tenth, at least 1
  EXPECT_EQ(limited.admit(false, false, clock.now()).wait, 0ns);
  auto second = limited.admit(false, false, clock.now());
  EXPECT_EQ(second.wait, 100ms);
  EXPECT_EQ(second.by, CallPacer::By::rate_limit);
}

TEST(CallPacer, TheCostCapSpacesOnlyTheCallsThatStartAJob) {
  ManualClock clock;
  // 120 jobs a minute = one run every 500 ms, burst of one; no rate limit.
  CallPacer p(fixed_rate(0), RetryBudget(RetryBudgetSettings{}), RateLimiter(2, 1));
  EXPECT_EQ(p.admit(false, true, clock.now()).wait, 0ns);
  auto second_run = p.admit(false, true, clock.now());
  EXPECT_EQ(second_run.wait, 500ms);
  EXPECT_EQ(second_run.by, CallPacer::By::jobs_per_minute);
  EXPECT_EQ(paced_label(second_run.by), "jobs_per_minute");
  // Other calls (create, datasource, params, reading a job) pass at once.
  EXPECT_EQ(p.admit(false, false, clock.now()).wait, 0ns);
  // A new rate limit and budget (SIGHUP) keep the cap's debt: the third run still queues.
  p.replace_call_rules(0, RetryBudget(RetryBudgetSettings{}), clock.now());
  EXPECT_EQ(p.admit(false, true, clock.now()).wait, 1000ms);
  clock.advance(1500ms);
  EXPECT_EQ(p.admit(false, true, clock.now()).wait, 0ns);
}

TEST(CallPacer, ACutShareOfTheFleetsCapVoidsTheRunsBookedAndARaisedOneKeepsThem) {
  ManualClock clock;
  // 120 a minute: one run each 500 ms.
  CallPacer p(fixed_rate(0), RetryBudget(RetryBudgetSettings{}), RateLimiter(2, 1));
  const auto first = p.admit(false, true, clock.now());
  EXPECT_EQ(first.wait, 0ns);
  const auto booked = p.admit(false, true, clock.now());
  EXPECT_EQ(booked.wait, 500ms);
  const auto not_a_run = p.admit(false, false, clock.now());
  EXPECT_FALSE(p.outdated(booked));
  // A third member joined: a third of the cap (40 a minute, one each 1.5 s). The run booked at
  // the old rate is void: when its time comes it asks again, and queues at the new rate.
  p.set_job_start_rate(2.0 / 3, clock.now());
  EXPECT_TRUE(p.outdated(booked));
  EXPECT_TRUE(p.cap_outdated(booked));
  EXPECT_FALSE(p.cap_outdated(not_a_run));  // took no permit of the cap
  clock.advance(500ms);
  const auto again = p.readmit(clock.now(), true);
  EXPECT_EQ(again.wait, 1000ms);  // 1.5 s after the cut
  EXPECT_EQ(again.by, CallPacer::By::jobs_per_minute);
  EXPECT_FALSE(p.outdated(again));
  // From then on, one run each 1.5 s (the next 1.5 s after that one).
  clock.advance(1000ms);
  int runs = 0;
  for (int i = 0; i < 100; ++i) {
    if (p.admit(false, true, clock.now()).wait <= 15s) ++runs;
  }
  EXPECT_EQ(runs, 15 * 2 / 3);
  // Raised (a member left): what is booked keeps its time, the next queue at the new rate.
  ManualClock later;
  CallPacer q(fixed_rate(0), RetryBudget(RetryBudgetSettings{}), RateLimiter(2.0 / 3, 1));
  EXPECT_EQ(q.admit(false, true, later.now()).wait, 0ns);
  const auto slow = q.admit(false, true, later.now());
  EXPECT_EQ(slow.wait, 1500ms);
  q.set_job_start_rate(2, later.now());
  EXPECT_FALSE(q.outdated(slow));
  EXPECT_EQ(q.admit(false, true, later.now()).wait, 1000ms);  // two permits owed at the new rate
}


TEST(CallPacer, ARetryAfterHoldsEveryCallOfTheAccountThenTheAdaptedRateSpacesThem) {
  ManualClock clock;
  CallPacer p(submitd::submit::AdaptiveRateSettings{}, RetryBudget(RetryBudgetSettings{}));
  EXPECT_EQ(p.admit(false, false, clock.now()).wait, 0ns) << "no limit until the API shows one";
  // A second of 100 calls, then a 429 saying "wait 2 s".
  for (int i = 0; i < 100; ++i) {
    p.sent(clock.now());
    p.answered(submitd::submit::CallSignal::ok, 1ms, 0ms, 0, clock.now());
    clock.advance(10ms);
  }
  p.answered(submitd::submit::CallSignal::throttled, 1ms, 2000ms, 0.0, clock.now());
  EXPECT_NEAR(p.account().rate(), 90, 2);
  auto first = p.admit(false, false, clock.now());
  EXPECT_EQ(first.by, CallPacer::By::retry_after);
  EXPECT_EQ(first.wait, 2s) << "another request's call waits too";
  EXPECT_EQ(paced_label(first.by), "retry_after");
  // After the hold the calls are spaced at the cut rate (burst 8), not let out all at once.
  std::chrono::nanoseconds last{0};
  for (int i = 0; i < 20; ++i) last = p.admit(false, false, clock.now()).wait;
  EXPECT_GT(last, 2s + 100ms);
  clock.advance(3s);
  EXPECT_EQ(p.admit(false, false, clock.now()).wait, 0ns);
}

TEST(RateLimiter, TryReserveBooksNoFurtherAheadThanItsHorizon) {
  ManualClock clock;
  RateLimiter r(10, 1);
  int granted = 0;
  for (int i = 0; i < 50; ++i) granted += r.try_reserve(clock.now(), 1s) ? 1 : 0;
  EXPECT_EQ(granted, 11) << "now, then every 100 ms up to 1 s ahead";
  EXPECT_FALSE(r.try_reserve(clock.now(), 1s)) << "refused calls took nothing";
  r.set_rate(100, 10, clock.now());  // raised: the next second books at the new spacing
  clock.advance(1s);
  EXPECT_EQ(*r.try_reserve(clock.now(), 1s), 0ns);
  EXPECT_EQ(RateLimiter(0, 1).try_reserve(clock.now(), 1s), std::optional<std::chrono::nanoseconds>(0ns));
}

TEST(CallPacer, ACutRateDoesNotLeaveCallersBookedFarAhead) {
  ManualClock clock;
  CallPacer p(submitd::submit::AdaptiveRateSettings{}, RetryBudget(RetryBudgetSettings{}));
  for (int i = 0; i < 100; ++i) {  // a second at 100 calls/s, then a 429: about 90/s
    p.sent(clock.now());
    p.answered(submitd::submit::CallSignal::ok, 1ms, 0ms, 0, clock.now());
    clock.advance(10ms);
  }
  p.answered(submitd::submit::CallSignal::throttled, 1ms, 0ms, 0, clock.now());
  int granted = 0, asked_later = 0;
  for (int i = 0; i < 1000; ++i) {
    auto a = p.admit(false, false, clock.now());
    if (a.granted) {
      ++granted;
    } else {
      ++asked_later;
      EXPECT_EQ(a.wait, 250ms);
    }
  }
  EXPECT_NEAR(granted, 90 / 4 + 9, 3) << "a quarter second's worth and the burst left, not a thousand";
  EXPECT_EQ(asked_later, 1000 - granted);
}

TEST(CallPacer, PermitsBookedAheadAreVoidOnceTheRateIsCutOrAHoldBegins) {
  ManualClock clock;
  CallPacer p(submitd::submit::AdaptiveRateSettings{}, RetryBudget(RetryBudgetSettings{}));
  for (int i = 0; i < 100; ++i) {  // a second at 100 calls/s, then a 429: 90/s
    p.sent(clock.now());
    p.answered(submitd::submit::CallSignal::ok, 1ms, 0ms, 0, clock.now());
    clock.advance(10ms);
  }
  p.answered(submitd::submit::CallSignal::throttled, 1ms, 0ms, 0, clock.now());
  std::vector<CallPacer::Admission> booked;
  for (int i = 0; i < 20; ++i) booked.push_back(p.admit(false, false, clock.now()));
  EXPECT_GT(booked.back().wait, 100ms) << "booked ahead at 90/s";
  for (const auto& a : booked) EXPECT_FALSE(p.outdated(a));
  // Nothing happened to the account: more answers, the same rate, permits stand.
  p.answered(submitd::submit::CallSignal::ok, 1ms, 0ms, 0, clock.now());
  EXPECT_FALSE(p.outdated(booked.back()));
  // A second 429 past the cut spacing: the rate is cut again, and every permit booked at the
  // old rate is void; asking again books them at the new rate from now, the old debt dropped.
  clock.advance(250ms);
  p.answered(submitd::submit::CallSignal::throttled, 1ms, 0ms, 0, clock.now());
  const double cut = p.account().rate();
  ASSERT_LT(cut, 90);
  for (const auto& a : booked) EXPECT_TRUE(p.outdated(a));
  auto again = p.readmit(clock.now());
  EXPECT_TRUE(again.granted);
  EXPECT_EQ(again.wait, 0ns) << "the void bookings' debt is gone";
  EXPECT_FALSE(p.outdated(again));
  // A Retry-After hold voids permits too: the call waits for the hold's end.
  p.answered(submitd::submit::CallSignal::throttled, 1ms, 3000ms, 0, clock.now());
  EXPECT_TRUE(p.outdated(again));
  auto held = p.readmit(clock.now());
  EXPECT_GE(held.wait, 3s);
  EXPECT_EQ(held.by, CallPacer::By::retry_after);
}
