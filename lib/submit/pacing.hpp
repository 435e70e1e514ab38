// Role: the two pacing rules for API calls, as plain logic with injected time.
//
// RateLimiter: an optional client-side cap on calls per second (a token bucket with a small
// burst). reserve() always grants a permit and says how long to wait before using it, so
// callers queue in time instead of polling; the debt is bounded by the callers in flight.
//
// RetryBudget: keeps an outage from becoming a retry storm. Every fresh call (a step's first
// try) deposits `ratio` of a retry; every retry withdraws one; on top of that the budget
// refills by `min_per_second`, so a quiet daemon can still retry. When the budget is spent a
// retry is not dropped or failed (a transient failure never becomes final because of it): it
// is scheduled later, so retries to a failing API flow at about
// min_per_second + ratio x (fresh calls per second), however many requests are waiting.
#pragma once

#include <chrono>

#include "util/clock.hpp"

namespace submitd::submit {

class RateLimiter {
 public:
  // per_second <= 0: unlimited. burst: permits that may be used at once after a quiet time.
  RateLimiter(double per_second, double burst);
  bool limited() const { return rate_ > 0; }
  // Takes one permit; returns the wait before it may be used (zero: now).
  std::chrono::nanoseconds reserve(MonoTime now);

 private:
  void refill(MonoTime now);
  double rate_;
  double burst_;
  double tokens_;
  MonoTime last_{};
  bool started_ = false;
};

struct RetryBudgetSettings {
  double ratio = 0.5;           // retries allowed per fresh call
  double min_per_second = 10;   // retries always allowed per second
};

class RetryBudget {
 public:
  explicit RetryBudget(RetryBudgetSettings settings);
  void fresh_call(MonoTime now);
  // Takes one retry; returns the extra wait before it may be sent (zero: now).
  std::chrono::nanoseconds reserve_retry(MonoTime now);
  double balance() const { return balance_; }

 private:
  void refill(MonoTime now);
  RetryBudgetSettings settings_;
  double cap_;
  double balance_;
  MonoTime last_{};
  bool started_ = false;
};

// Both rules applied to each API call of the submission pipeline.
class CallPacer {
 public:
  struct Admission {
    std::chrono::nanoseconds wait{0};
    bool by_budget = false;  // the retry budget asked for the (longer) wait
  };
  CallPacer(RateLimiter limiter, RetryBudget budget) : limiter_(limiter), budget_(budget) {}
  // `retry`: the call repeats one that met transient trouble.
  Admission admit(bool retry, MonoTime now);

 private:
  RateLimiter limiter_;
  RetryBudget budget_;
};

}  // namespace submitd::submit
