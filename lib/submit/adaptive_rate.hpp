// Role: finds and holds the API account's call rate, as plain logic with injected time: the
// Asio side only reports how each call ended and asks what rate and hold to apply.
//
// Why a rate and not a concurrency limit: an account limit is a quota of calls per second, and
// on a fast link one call in flight already exceeds it (1 ms round trips = 1,000 calls/s), so
// only a rate can hold it. Latency rising past its baseline (a server queueing before it
// refuses) is one of the signals, so a server at its capacity is held off the same way.
//
// The rule (AIMD, as TCP and Vector's adaptive request concurrency):
// - Unknown limit: the rate starts at `start_rate` and doubles every 100 ms while it is used
//   and calm, up to no limit at all (past a million calls/s): a daemon whose API keeps up pays
//   about a second of ramp, and one meeting a small limit overshoots it by one doubling at most.
// - A sign of trouble (a 429; 503s or timeouts once they are `overload_share` of the second's
//   answers, since a few are sporadic faults, not load; or the smoothed round trip past
//   `latency_factor` times its baseline): the rate becomes `decrease` times the rate of calls
//   the account accepted lately, at most once per `cut_spacing` (one burst is one signal).
// - Each second in which the rate was the binding limit (calls reached 90% of it) and nothing
//   went wrong: up by `increase_calls` x (1 + whole seconds since the last cut). The step does
//   not depend on the rate, so several daemons on one account converge to equal shares (a
//   step proportional to the rate would keep whatever shares they had); it grows with the calm
//   time, so a doubled limit is found in seconds instead of minutes.
// - Retry-After holds every call of the account (not only the refused one) until it has passed,
//   plus a random part of up to `retry_after_jitter` of it, so daemons sharing the account do
//   not come back in the same instant.
// - An outage (only failures for `outage_after`): when calls succeed again the rate restarts at
//   `restart_rate` and doubles each second back to the rate before the outage, then goes on
//   additively (slow start).
// - `ceiling` (api.rate_limit_per_second, 0 = none) caps the rate at all times.
#pragma once

#include <chrono>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

#include "util/clock.hpp"

namespace submitd::submit {

struct AdaptiveRateSettings {
  bool enabled = true;
  double ceiling = 0;  // calls per second at most; 0: none
  double decrease = 0.85;
  double increase_calls = 5;  // calls/s added after a calm second; more the longer it stays calm
  double restart_rate = 10;         // calls/s after an outage
  double start_rate = 50;           // calls/s at start, doubled every 100 ms until a limit shows
  double min_rate = 1;
  double latency_factor = 2.0;
  std::chrono::milliseconds latency_margin{5};  // rises smaller than this are noise, not queueing
  std::chrono::milliseconds cut_spacing{200};
  double overload_share = 0.1;  // 503s and timeouts read as load from this share of answers
  std::chrono::seconds outage_after{5};
  double retry_after_jitter = 0.25;
};

// How one call ended, as the limiter sees it.
enum class CallSignal { ok, throttled, unavailable, timeout, other };

class AdaptiveRate {
 public:
  enum class Reason { start, probing, throttled, unavailable, timeout, latency, retry_after, restart, ceiling };
  static constexpr double kUnlimited = std::numeric_limits<double>::infinity();

  explicit AdaptiveRate(AdaptiveRateSettings settings);

  // A call was sent (counted toward the rate reached).
  void sent(MonoTime now);
  // A call ended after `round_trip`.
  void answered(CallSignal signal, std::chrono::nanoseconds round_trip, MonoTime now);
  // The server asked to wait `delay` (Retry-After); jitter in [0, 1).
  void retry_after(std::chrono::milliseconds delay, double jitter, MonoTime now);
  // New ceiling (SIGHUP): the rate is capped at once.
  void set_ceiling(double ceiling, MonoTime now);

  // Calls per second allowed now (kUnlimited: no limit).
  double rate() const;
  // Every call waits until then (the account is held by a Retry-After).
  MonoTime held_until() const { return held_until_; }
  bool holding(MonoTime now) const { return now < held_until_; }
  Reason last_change() const { return reason_; }
  MonoTime last_change_at() const { return changed_at_; }
  bool in_outage() const { return outage_; }
  // The smoothed round trip and its baseline, in seconds (0 before the first answer).
  double smoothed_rtt_s() const { return srtt_s_; }
  double baseline_rtt_s() const { return baseline_s_; }

 private:
  void tick(MonoTime now);  // closes the seconds elapsed since the last one
  void cut(Reason why, MonoTime now);
  void change(double rate, Reason why, MonoTime now);
  void note_rtt(std::chrono::nanoseconds round_trip, MonoTime now);
  bool latency_high() const;

  AdaptiveRateSettings settings_;
  double rate_ = kUnlimited;
  double before_outage_ = kUnlimited;  // slow start doubles up to this
  bool starting_ = false;               // no limit known yet: doubling every 100 ms
  bool slow_start_ = false;
  Reason reason_ = Reason::start;
  MonoTime changed_at_{};
  MonoTime held_until_{};
  MonoTime last_cut_{};
  bool cut_once_ = false;
  // The current one-second window.
  bool window_started_ = false;
  MonoTime window_start_{};
  std::size_t sent_in_window_ = 0;
  std::size_t ok_in_window_ = 0;
  std::size_t failed_in_window_ = 0;  // 503s and timeouts
  double reached_ = 0;    // calls per second sent in the last closed window
  double accepted_ = -1;  // calls per second answered ok in it (-1: no window closed yet)
  bool trouble_in_window_ = false;
  // Outage: only failures since `first_failure_`.
  bool failing_ = false;
  MonoTime first_failure_{};
  double rate_before_failures_ = kUnlimited;
  bool outage_ = false;
  // Round trips: smoothed, and the lowest seen in the current and the previous 30 s.
  double srtt_s_ = 0;
  double baseline_s_ = 0;
  double lowest_now_s_ = 0;
  double lowest_before_s_ = 0;
  MonoTime lowest_since_{};
};

std::string_view reason_name(AdaptiveRate::Reason reason);
// How a reply counts: 429 throttled, 503 unavailable, a transport timeout, the rest ok/other.
CallSignal call_signal(int status, bool timed_out, bool transport_failed);

}  // namespace submitd::submit
