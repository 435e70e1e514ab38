// Role: finds and holds the API account's call rate, as plain logic with injected time: the
// Asio side only reports how each call ended and asks what rate and hold to apply.
//
// Why a rate and not a concurrency limit: an account limit is a quota of calls per second, and
// on a fast link one call in flight already exceeds it (1 ms round trips = 1,000 calls/s), so
// only a rate can hold it. Latency rising past its baseline (a server queueing before it
// refuses) is one of the signals, so a server at its capacity is held off the same way.
//
// The rule (multiplicative decrease as TCP and Vector's adaptive request concurrency; the
// growth shaped like TCP CUBIC's):
// - Unknown limit: the rate starts at `start_rate` and doubles every 4 round trips (20 to 100
//   ms) while it is used and calm, up to no limit at all (past a million calls/s): a daemon
//   whose API keeps up pays a fraction of a second of ramp, and one meeting a small limit
//   overshoots it by one doubling at most.
// - A sign of trouble (a 429; 503s or timeouts once they are `overload_share` of the second's
//   answers, since a few are sporadic faults, not load; or the smoothed round trip past
//   `latency_factor` times its baseline): the rate becomes `decrease` times the rate of calls
//   the account accepted lately (the rate where trouble began), at most once per `cut_spacing`
//   (one burst is one signal). Cuts with no calm second between them cut deeper each time
//   (decrease, its square, its cube, ... down to a half): with Retry-After each cut comes after
//   a hold of a second or more, so a limit halved under a daemon would otherwise take 6 to 7
//   holds of 0.9 each to be followed.
// - Each second in which the rate was the binding limit (calls reached 90% of it) and nothing
//   went wrong is one step of growth. For `recovery_seconds` the rate returns to where trouble
//   began, quickly at first and flattening as it nears it (a cubic); past it, it probes: first
//   `probe_calls` calls/s above it, the excess doubling every `probe_doubling`. So it spends
//   most of its time just under the limit and meets it seldom (each meeting costs a 429 and,
//   with Retry-After, a hold of every call for a second or more: with an additive probe that
//   met the limit every 6 to 8 s, the hold alone kept the account at 0.8 of its limit), yet a
//   raised limit is found within seconds, the probe having grown exponentially by then.
//   The probe is in calls/s, the same for every sharer of the account whatever its share,
//   while cuts are in proportion to the share: the larger sharer gives up more each cycle,
//   so shares converge (as AIMD's do).
// - Retry-After holds every call of the account (not only the refused one) until it has passed,
//   plus a random part of up to `retry_after_jitter` of it, so daemons sharing the account do
//   not come back in the same instant.
// - An outage (only failures for `outage_after`): when calls succeed again the rate restarts at
//   `restart_rate` and doubles each second back to the rate before the outage, then probes
//   from there (slow start).
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
  double decrease = 0.9;
  int recovery_seconds = 3;                          // calm seconds back to where trouble began
  double probe_calls = 0.15;                         // calls/s above it in the first probing second
  std::chrono::milliseconds probe_doubling{1250};    // the probe's excess doubles this often
  double restart_rate = 10;         // calls/s after an outage
  double start_rate = 50;           // calls/s at start, doubled every 20-100 ms until a limit shows
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
  std::chrono::nanoseconds start_window() const;  // how often the start doubles the rate
  void cut(Reason why, MonoTime now);
  void change(double rate, Reason why, MonoTime now);
  void note_rtt(std::chrono::nanoseconds round_trip, MonoTime now);
  double grown(double rate);  // the rate after one more calm, binding second (counts it)
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
  // Growth: from `cut_to_` back to `trouble_at_` (the accepted rate when trouble began), then
  // probing above it; `calm_seconds_` binding seconds since.
  double trouble_at_ = 0;
  double cut_to_ = 0;
  int calm_seconds_ = 0;
  int cuts_in_a_row_ = 0;  // cuts with no calm second between them: each cuts deeper
  // Calls accepted in those calm, binding seconds, and their length: what the account took
  // for seconds on end (the rate of one second can pass the limit by the account's burst).
  double calm_accepted_ = 0;
  double calm_span_s_ = 0;
  // The current one-second window.
  bool window_started_ = false;
  MonoTime window_start_{};
  std::size_t sent_in_window_ = 0;
  std::size_t ok_in_window_ = 0;
  // Answers and 503s or timeouts among them in the current second (their share is load).
  MonoTime load_window_start_{};
  std::size_t load_answers_ = 0;
  std::size_t load_failed_ = 0;
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
