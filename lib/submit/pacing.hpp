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
#include <cstdint>
#include <optional>
#include <string_view>

#include "submit/adaptive_rate.hpp"
#include "util/clock.hpp"

namespace submitd::submit {

class RateLimiter {
 public:
  // per_second <= 0: unlimited. burst: permits that may be used at once after a quiet time.
  RateLimiter(double per_second, double burst);
  bool limited() const { return rate_ > 0; }
  double rate() const { return rate_; }
  // A new rate (the adaptive one moved): permits owed so far stay owed, the burst is the new one.
  void set_rate(double per_second, double burst, MonoTime now);
  // Takes `permits` (one call; or bytes, for a bandwidth limit); returns the wait before they
  // may be used (zero: now).
  std::chrono::nanoseconds reserve(MonoTime now, double permits = 1);
  // Takes a permit only if it can be used within `horizon`; nullopt (nothing taken) if not.
  // With a rate that changes, the permits queued ahead stay within `horizon` of the present.
  std::optional<std::chrono::nanoseconds> try_reserve(MonoTime now, std::chrono::nanoseconds horizon);
  // The permits booked ahead are void (their holders will ask again): their debt is dropped,
  // without refilling the bucket.
  void void_bookings(MonoTime now);

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

// The rules applied to each API call of the submission pipeline: the account rate (adaptive,
// capped by api.rate_limit_per_second, or that fixed rate) and any account-wide Retry-After
// hold, and the retry budget, to every call; the cost cap (submit.max_jobs_per_minute, a
// RateLimiter in jobs per second with a burst of one) to the calls that start a job (run).
class CallPacer {
 public:
  enum class By { none, rate_limit, retry_budget, jobs_per_minute, retry_after };
  struct Admission {
    std::chrono::nanoseconds wait{0};
    By by = By::none;  // the rule that asked for the (longest) wait
    // False: no permit was taken (the account rate is booked further ahead than a second):
    // wait, then ask again, at the rate of that moment.
    bool granted = true;
    std::uint64_t epoch = 0;  // the account rules it was granted under (see outdated())
    bool capped = false;          // it took a permit of the cost cap
    std::uint64_t cap_epoch = 0;  // the cost cap's rate it was taken at (see cap_outdated())
  };
  // `account`: how the rate adapts (its ceiling is the fixed rate when it does not).
  CallPacer(AdaptiveRateSettings account, RetryBudget budget, RateLimiter job_starts = RateLimiter(0, 1));
  // `retry`: the call repeats one that met transient trouble; `starts_job`: it is a run.
  Admission admit(bool retry, bool starts_job, MonoTime now);
  // True when, since `a` was granted, the account's rate was cut or a hold began: a caller
  // still waiting for its permit's time must not go at the old rate (hundreds of calls booked
  // ahead at a start's doubled rate would all meet the limit). It asks again with readmit().
  bool outdated(const Admission& a) const { return a.epoch != epoch_ || cap_outdated(a); }
  // True when `a` took a permit of the cost cap and the cap's rate was cut since (a fleet's
  // new member): the permit is void, and it must be asked for again (readmit with recap).
  bool cap_outdated(const Admission& a) const { return a.capped && a.cap_epoch != cap_epoch_; }
  // Asks again for an outdated permit: the account's hold and rate (the retry budget was
  // charged, and waited for, the first time); the cost cap too when `recap`.
  Admission readmit(MonoTime now, bool recap = false);
  // A call goes out now / came back (how, after how long); `retry_after`: the server's wait,
  // zero when it gave none; jitter in [0, 1).
  void sent(MonoTime now) { account_.sent(now); }
  void answered(CallSignal signal, std::chrono::nanoseconds round_trip, std::chrono::milliseconds retry_after,
                double jitter, MonoTime now);
  // The cost cap's rate changes (a fleet's members came or went; > 0). Cut: the permits
  // booked at the old rate are void (cap_outdated), so the runs from now on keep the new rate.
  // Raised: the runs booked keep their times (later than needed, never sooner) and the next
  // queue behind them at the new rate.
  void set_job_start_rate(double per_second, MonoTime now);
  // SIGHUP: a new ceiling and retry budget (the budget starts afresh); the cost cap's bucket stays.
  void replace_call_rules(double rate_limit_per_second, RetryBudget budget, MonoTime now);
  const AdaptiveRate& account() const { return account_; }

 private:
  void follow_account(MonoTime now);  // the limiter takes the account's current rate
  void void_permits(MonoTime now);    // permits booked so far are void (see outdated())
  Admission account_admission(MonoTime now);  // the account's hold and rate
  void take_job_start(Admission& a, MonoTime now);  // a permit of the cost cap, when there is one

  AdaptiveRate account_;
  RateLimiter limiter_;
  RetryBudget budget_;
  RateLimiter job_starts_;
  std::uint64_t epoch_ = 0;      // + 1 at each cut of the rate or new hold
  std::uint64_t cap_epoch_ = 0;  // + 1 at each cut of the cost cap's rate
};

// The calls_paced_total{by} label of a rule.
std::string_view paced_label(CallPacer::By by);

}  // namespace submitd::submit
