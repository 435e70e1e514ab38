// AccountLimits implementation (see account_limit.hpp).
#include "account_limit.hpp"

#include <algorithm>
#include <cmath>

namespace emulator {

namespace {
double seconds_between(TimePoint a, TimePoint b) { return std::chrono::duration<double>(b - a).count(); }
double burst_of(double rate, double burst) { return burst > 0 ? burst : std::max(1.0, rate / 10); }
}  // namespace

std::optional<double> AccountLimits::take(Bucket& b, double rate, double burst, TimePoint now) {
  if (b.tokens < 0) {
    b.tokens = burst;
  } else if (now > b.last) {
    b.tokens = std::min(burst, b.tokens + rate * seconds_between(b.last, now));
  }
  if (now > b.last || b.last == TimePoint{}) b.last = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  return (1 - b.tokens) / rate;
}

double AccountLimits::recent_rate(Account& a, TimePoint now) const {
  // Two one-second windows, the older weighted by how much of it is still within a second.
  if (a.window_start == TimePoint{}) a.window_start = now;
  const double since = seconds_between(a.window_start, now);
  if (since >= 2) {
    a.last_window = 0;
    a.this_window = 0;
    a.window_start = now;
  } else if (since >= 1) {
    a.last_window = a.this_window;
    a.this_window = 0;
    a.window_start += std::chrono::seconds(1);
  }
  const double into = std::min(1.0, seconds_between(a.window_start, now));
  return a.this_window + a.last_window * (1 - into);
}

std::chrono::milliseconds AccountLimits::knee_delay(double recent) const {
  if (knobs_.knee_max_delay_ms <= 0 || knobs_.calls_per_second <= 0 || knobs_.knee >= 1) return {};
  const double load = recent / knobs_.calls_per_second;
  if (load <= knobs_.knee) return {};
  const double past = std::min(1.0, (load - knobs_.knee) / (1 - knobs_.knee));
  return std::chrono::milliseconds(std::llround(past * static_cast<double>(knobs_.knee_max_delay_ms)));
}

AccountDecision AccountLimits::admit(std::size_t account, bool is_run, TimePoint now) {
  std::lock_guard lock(mutex_);
  AccountDecision d;
  if (knobs_.calls_per_second <= 0 && knobs_.runs_per_second <= 0) return d;
  Account& a = accounts_[account];
  const double recent = recent_rate(a, now);
  std::optional<double> wait;
  if (knobs_.calls_per_second > 0) {
    wait = take(a.calls, knobs_.calls_per_second, burst_of(knobs_.calls_per_second, knobs_.burst), now);
  }
  if (!wait && is_run && knobs_.runs_per_second > 0) {
    wait = take(a.runs, knobs_.runs_per_second, burst_of(knobs_.runs_per_second, 0), now);
    // The call's token is not given back: a refused run still cost the account a call.
  }
  if (wait) {
    d.refused = true;
    if (knobs_.retry_after) d.retry_after_s = std::max(1, static_cast<int>(std::ceil(*wait)));
    return d;
  }
  a.this_window += 1;
  d.delay = knee_delay(recent + 1);
  return d;
}

AccountLimitKnobs AccountLimits::knobs() const {
  std::lock_guard lock(mutex_);
  return knobs_;
}

void AccountLimits::set_knobs(AccountLimitKnobs knobs) {
  std::lock_guard lock(mutex_);
  knobs_ = knobs;
  for (auto& [id, a] : accounts_) {
    a.calls.tokens = std::min(a.calls.tokens, burst_of(knobs_.calls_per_second, knobs_.burst));
    a.runs.tokens = std::min(a.runs.tokens, burst_of(knobs_.runs_per_second, 0));
  }
}

std::optional<std::string> set_account_limit_key(std::string_view key, const boost::json::value& v,
                                                 AccountLimitKnobs& knobs) {
  if (key == "rateLimitRetryAfter") {
    if (!v.is_bool()) return std::string("rateLimitRetryAfter must be true or false");
    knobs.retry_after = v.get_bool();
    return std::string();
  }
  double* field = key == "rateLimitPerSecond"  ? &knobs.calls_per_second
                  : key == "rateLimitBurst"    ? &knobs.burst
                  : key == "runLimitPerSecond" ? &knobs.runs_per_second
                  : key == "knee"              ? &knobs.knee
                                               : nullptr;
  const bool is_delay = key == "kneeMaxDelayMs";
  if (!field && !is_delay) return std::nullopt;
  if (!v.is_number()) return std::string(key) + " must be a number";
  const double n = v.to_number<double>();
  if (!std::isfinite(n) || n < 0 || n > 10'000'000) return std::string(key) + " must be a number >= 0";
  if (key == "knee" && n > 1) return std::string("knee must be in [0, 1]");
  if (is_delay) {
    knobs.knee_max_delay_ms = static_cast<std::int64_t>(n);
  } else {
    *field = n;
  }
  return std::string();
}

void report_account_limit(const AccountLimitKnobs& k, boost::json::object& out) {
  out["rateLimitPerSecond"] = k.calls_per_second;
  out["rateLimitBurst"] = k.burst;
  out["runLimitPerSecond"] = k.runs_per_second;
  out["rateLimitRetryAfter"] = k.retry_after;
  out["knee"] = k.knee;
  out["kneeMaxDelayMs"] = k.knee_max_delay_ms;
}

}  // namespace emulator
