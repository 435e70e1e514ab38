// Role: the rate limiter and the retry budget (see pacing.hpp).
#include "submit/pacing.hpp"

#include <algorithm>

namespace submitd::submit {
namespace {

double seconds_between(MonoTime from, MonoTime to) {
  return std::chrono::duration<double>(to - from).count();
}

std::chrono::nanoseconds wait_for_debt(double debt, double rate) {
  if (debt <= 0 || rate <= 0) return std::chrono::nanoseconds(0);
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(debt / rate));
}

}  // namespace

RateLimiter::RateLimiter(double per_second, double burst)
    : rate_(per_second), burst_(std::max(1.0, burst)), tokens_(burst_) {}

void RateLimiter::refill(MonoTime now) {
  if (started_ && now > last_) tokens_ = std::min(burst_, tokens_ + rate_ * seconds_between(last_, now));
  if (!started_ || now > last_) last_ = now;
  started_ = true;
}

std::chrono::nanoseconds RateLimiter::reserve(MonoTime now) {
  if (!limited()) return std::chrono::nanoseconds(0);
  refill(now);
  tokens_ -= 1;
  return wait_for_debt(-tokens_, rate_);
}

RetryBudget::RetryBudget(RetryBudgetSettings settings)
    : settings_(settings),
      // Ten seconds of the floor rate can be spent at once after a calm period.
      cap_(std::max(10.0, settings.min_per_second * 10)),
      balance_(cap_) {}

void RetryBudget::refill(MonoTime now) {
  if (started_ && now > last_) {
    balance_ = std::min(cap_, balance_ + settings_.min_per_second * seconds_between(last_, now));
  }
  if (!started_ || now > last_) last_ = now;
  started_ = true;
}

void RetryBudget::fresh_call(MonoTime now) {
  refill(now);
  balance_ = std::min(cap_, balance_ + settings_.ratio);
}

std::chrono::nanoseconds RetryBudget::reserve_retry(MonoTime now) {
  refill(now);
  balance_ -= 1;
  // Debt is paid off by the floor rate alone (fresh calls may pay it sooner, but a waiting
  // retry cannot count on them during an outage).
  return wait_for_debt(-balance_, settings_.min_per_second);
}

CallPacer::Admission CallPacer::admit(bool retry, bool starts_job, MonoTime now) {
  Admission a;
  // Each rule reserves its permit now; the call waits for the latest of them.
  auto consider = [&a](std::chrono::nanoseconds wait, By by) {
    if (wait > a.wait) {
      a.wait = wait;
      a.by = by;
    }
  };
  if (retry) {
    consider(budget_.reserve_retry(now), By::retry_budget);
  } else {
    budget_.fresh_call(now);
  }
  consider(limiter_.reserve(now), By::rate_limit);
  if (starts_job && job_starts_.limited()) consider(job_starts_.reserve(now), By::jobs_per_minute);
  return a;
}

std::string_view paced_label(CallPacer::By by) {
  switch (by) {
    case CallPacer::By::rate_limit: return "rate_limit";
    case CallPacer::By::retry_budget: return "retry_budget";
    case CallPacer::By::jobs_per_minute: return "jobs_per_minute";
    case CallPacer::By::none: break;
  }
  return "none";
}

}  // namespace submitd::submit
