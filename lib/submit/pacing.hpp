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
#include <string_view>

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

// The rules applied to each API call of the submission pipeline: the rate limit and the retry
// budget to every call, and the cost cap (submit.max_jobs_per_minute, a RateLimiter in jobs per
// second with a burst of one) to the calls that start a job (run).
class CallPacer {
 public:
  enum class By { none, rate_limit, retry_budget, jobs_per_minute };
  struct Admission {
    std::chrono::nanoseconds wait{0};
    By by = By::none;  // the rule that asked for the (longest) wait
  };
  CallPacer(RateLimiter limiter, RetryBudget budget, RateLimiter job_starts = RateLimiter(0, 1))
      : limiter_(limiter), budget_(budget), job_starts_(job_starts) {}
  // `retry`: the call repeats one that met transient trouble; `starts_job`: it is a run.
  Admission admit(bool retry, bool starts_job, MonoTime now);
  // SIGHUP: new rate limit and retry budget (they start afresh); the cost cap's bucket stays.
  void replace_call_rules(RateLimiter limiter, RetryBudget budget) {
    limiter_ = limiter;
    budget_ = budget;
  }

 private:
  RateLimiter limiter_;
  RetryBudget budget_;
  RateLimiter job_starts_;
};

// The calls_paced_total{by} label of a rule.
std::string_view paced_label(CallPacer::By by);

}  // namespace submitd::submit
