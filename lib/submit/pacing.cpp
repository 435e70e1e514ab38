// Role: the rate limiter and the retry budget (see pacing.hpp).
#include "submit/pacing.hpp"

#include <algorithm>
#include <cmath>

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

void RateLimiter::set_rate(double per_second, double burst, MonoTime now) {
  if (limited()) refill(now);
  rate_ = per_second;
  burst_ = std::max(1.0, burst);
  tokens_ = std::min(tokens_, burst_);
}

std::optional<std::chrono::nanoseconds> RateLimiter::try_reserve(MonoTime now, std::chrono::nanoseconds horizon) {
  if (!limited()) return std::chrono::nanoseconds(0);
  refill(now);
  const auto wait = wait_for_debt(1 - tokens_, rate_);
  if (wait > horizon) return std::nullopt;
  tokens_ -= 1;
  return wait_for_debt(-tokens_, rate_);
}

void RateLimiter::void_bookings(MonoTime now) {
  if (!limited()) return;
  refill(now);
  tokens_ = std::max(tokens_, 0.0);
}

std::chrono::nanoseconds RateLimiter::reserve(MonoTime now, double permits) {
  if (!limited()) return std::chrono::nanoseconds(0);
  refill(now);
  tokens_ -= permits;
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

namespace {
// A tenth of a second's worth at once: smooth enough for an account limit, and no caller waits
// for a permit when the rate is far above what is used.
double burst_of(double rate) { return std::max(1.0, rate / 10); }
double limiter_rate(double rate) { return std::isfinite(rate) ? rate : 0; }
// How far ahead the account rate's permits may be booked: a rate cut to a tenth must not leave
// a thousand callers queued at the old spacing for minutes, nor a raised rate unused.
constexpr std::chrono::milliseconds kBookedAhead{250};
}  // namespace

CallPacer::CallPacer(AdaptiveRateSettings account, RetryBudget budget, RateLimiter job_starts)
    : account_(account),
      limiter_(limiter_rate(account_.rate()), burst_of(limiter_rate(account_.rate()))),
      budget_(budget),
      job_starts_(job_starts) {}

void CallPacer::follow_account(MonoTime now) {
  const double rate = limiter_rate(account_.rate());
  if (rate == limiter_.rate()) return;
  // Slower now (a finite rate below the old one, or any rate where there was none): permits
  // booked at the old rate are void.
  const bool slower = rate > 0 && (!limiter_.limited() || rate < limiter_.rate());
  limiter_.set_rate(rate, burst_of(rate), now);
  if (slower) void_permits(now);
}

void CallPacer::void_permits(MonoTime now) {
  limiter_.void_bookings(now);
  ++epoch_;
}

void CallPacer::answered(CallSignal signal, std::chrono::nanoseconds round_trip, std::chrono::milliseconds retry_after,
                         double jitter, MonoTime now) {
  account_.answered(signal, round_trip, now);
  if (retry_after.count() > 0 && (signal == CallSignal::throttled || signal == CallSignal::unavailable)) {
    const MonoTime held_before = account_.held_until();
    account_.retry_after(retry_after, jitter, now);
    if (account_.held_until() > held_before) void_permits(now);  // booked calls start again from the hold's end
  }
  follow_account(now);
}

void CallPacer::replace_call_rules(double rate_limit_per_second, RetryBudget budget, MonoTime now) {
  account_.set_ceiling(rate_limit_per_second, now);
  follow_account(now);
  budget_ = budget;
}

void CallPacer::set_job_start_rate(double per_second, MonoTime now) {
  const bool cut = per_second < job_starts_.rate();
  job_starts_.set_rate(per_second, 1, now);
  if (!cut) return;
  job_starts_.void_bookings(now);
  ++cap_epoch_;
}

void CallPacer::take_job_start(Admission& a, MonoTime now) {
  if (!job_starts_.limited()) return;
  const auto wait = job_starts_.reserve(now);
  a.capped = true;
  a.cap_epoch = cap_epoch_;
  if (wait > a.wait) {
    a.wait = wait;
    a.by = By::jobs_per_minute;
  }
}

CallPacer::Admission CallPacer::readmit(MonoTime now, bool recap) {
  Admission a = account_admission(now);
  if (a.granted && recap) take_job_start(a, now);
  return a;
}

CallPacer::Admission CallPacer::account_admission(MonoTime now) {
  Admission a;
  a.epoch = epoch_;
  // A hold comes first: the rate's permits are reserved from its end (a call may not go out
  // during the hold, and not all at once right after it).
  const MonoTime from = std::max(now, account_.held_until());
  const auto permit = limiter_.try_reserve(from, kBookedAhead);
  if (!permit) {
    a.wait = (from - now) + kBookedAhead;
    a.by = from > now ? By::retry_after : By::rate_limit;
    a.granted = false;
    return a;
  }
  a.wait = (from - now) + *permit;
  a.by = from > now ? By::retry_after : a.wait.count() > 0 ? By::rate_limit : By::none;
  return a;
}

CallPacer::Admission CallPacer::admit(bool retry, bool starts_job, MonoTime now) {
  Admission a = account_admission(now);
  if (!a.granted) return a;
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
  if (starts_job) take_job_start(a, now);
  return a;
}

std::string_view paced_label(CallPacer::By by) {
  switch (by) {
    case CallPacer::By::rate_limit: return "rate_limit";
    case CallPacer::By::retry_budget: return "retry_budget";
    case CallPacer::By::jobs_per_minute: return "jobs_per_minute";
    case CallPacer::By::retry_after: return "retry_after";
    case CallPacer::By::none: break;
  }
  return "none";
}

}  // namespace submitd::submit
