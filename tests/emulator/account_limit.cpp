// AccountLimits implementation (see account_limit.hpp).
#include "account_limit.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace emulator {

namespace {
double seconds_between(TimePoint a, TimePoint b) {
  return std::chrono::duration<double>(b - a).count();
}
double burst_of(double rate, double burst) { return std::max(1.0, burst > 0 ? burst : rate / 10); }
}  // namespace

double AccountLimits::refill(Bucket& b, double rate, double burst, TimePoint now) {
  if (b.tokens < 0) {
    b.tokens = burst;
    b.last = now;
  } else if (now > b.last) {
    b.tokens = std::min(burst, b.tokens + rate * seconds_between(b.last, now));
    b.last = now;
  }
  return b.tokens >= 1 ? 0.0 : (1 - b.tokens) / rate;
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
  const bool calls_limited = knobs_.calls_per_second > 0;
  const bool runs_limited = is_run && knobs_.runs_per_second > 0;
  if (!calls_limited && !runs_limited) return d;
  Account& a = accounts_[account];
  const double recent = recent_rate(a, now);
  // Both buckets are refilled before either is drawn from, so a call one of them refuses
  // costs the other nothing, and Retry-After is when both will have a token.
  double wait = 0;
  if (calls_limited)
    wait = refill(a.calls, knobs_.calls_per_second, burst_of(knobs_.calls_per_second, knobs_.burst),
                  now);
  if (runs_limited)
    wait = std::max(
        wait, refill(a.runs, knobs_.runs_per_second, burst_of(knobs_.runs_per_second, 0), now));
  if (wait > 0) {
    d.refused = true;
    if (knobs_.retry_after) d.retry_after_s = std::max(1, static_cast<int>(std::ceil(wait)));
    return d;
  }
  if (calls_limited) a.calls.tokens -= 1;
  if (runs_limited) a.runs.tokens -= 1;
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

void AccountLimits::reset() {
  std::lock_guard lock(mutex_);
  accounts_.clear();
}

std::optional<std::string> set_account_limit_key(std::string_view key, const boost::json::value& v,
                                                 AccountLimitKnobs& knobs) {
  // The knob names of the brief (snake_case) map onto the camelCase keys /_emulator/config uses.
  static constexpr std::pair<std::string_view, std::string_view> aliases[] = {
      {"rate_limit_per_second", "rateLimitPerSecond"},
      {"rate_limit_burst", "rateLimitBurst"},
      {"run_limit_per_second", "runLimitPerSecond"},
      {"rate_limit_retry_after", "rateLimitRetryAfter"},
      {"knee_max_delay_ms", "kneeMaxDelayMs"}};
  for (const auto& [snake, camel] : aliases)
    if (key == snake) key = camel;
  const std::string name(key);
  if (key == "rateLimitRetryAfter") {
    if (!v.is_bool()) return name + " must be true or false";
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
  if (!v.is_number()) return name + " must be a number";
  const double n = v.to_number<double>();
  if (!std::isfinite(n) || n < 0 || n > 10'000'000)
    return name + " must be a number from 0 to 10000000";
  if (key == "knee" && n > 1) return name + " must be a share in [0, 1]";
  if (key == "rateLimitBurst" && n > 0 && n < 1) return name + " must be 0 (the default) or >= 1";
  if (is_delay) {
    if (n != std::floor(n) || n > 3'600'000) return name + " must be an integer from 0 to 3600000";
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
