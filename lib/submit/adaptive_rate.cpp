// Role: the adaptive account rate (see adaptive_rate.hpp).
#include "submit/adaptive_rate.hpp"

#include <algorithm>
#include <cmath>

namespace submitd::submit {
namespace {

constexpr auto kWindow = std::chrono::seconds(1);
// Before any limit is known the rate doubles every few round trips, every 20 to 100 ms (TCP's
// slow start): an unpaced start sends hundreds of calls into a small limit at once, and each
// refused request backs off for seconds; this way the overshoot is at most one doubling's
// worth. Not faster than the answers come back (they are what shows a limit), and not slower
// than 100 ms: on a fast API the ramp to no limit takes a fifth of a second, not a whole one.
constexpr auto kStartWindowMin = std::chrono::milliseconds(20);
constexpr auto kStartWindowMax = std::chrono::milliseconds(100);
constexpr double kStartWindowRoundTrips = 4;
constexpr double kNoLimitAbove = 1e6;
constexpr double kStartBinding = 0.5;  // calls/s: past this the doubling stops, there is no limit
constexpr auto kBaselineSpan = std::chrono::seconds(30);
constexpr double kSmoothing = 0.1;  // weight of one round trip in the smoothed one
constexpr double kBinding = 0.9;    // the rate was the limit when calls reached this share of it
constexpr double kFewAnswers = 100;
constexpr double kMinCalmSpan = 1;  // seconds of calm that say what the account takes
constexpr double kDeepestCut = 0.5;  // cuts in a row go no deeper than this factor

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

AdaptiveRate::AdaptiveRate(AdaptiveRateSettings settings) : settings_(settings) {
  if (settings_.ceiling > 0) rate_ = settings_.ceiling;
  if (settings_.enabled) {
    starting_ = true;
    rate_ = settings_.ceiling > 0 ? std::min(settings_.ceiling, settings_.start_rate) : settings_.start_rate;
  }
}

double AdaptiveRate::rate() const {
  if (!settings_.enabled) return settings_.ceiling > 0 ? settings_.ceiling : kUnlimited;
  return rate_;
}

void AdaptiveRate::sent(MonoTime now) {
  tick(now);
  ++sent_in_window_;
}

void AdaptiveRate::answered(CallSignal signal, std::chrono::nanoseconds round_trip, MonoTime now) {
  tick(now);
  if (!settings_.enabled) return;
  if (signal == CallSignal::ok) {
    ++ok_in_window_;
    ++load_answers_;
    note_rtt(round_trip, now);
    if (outage_) {
      // Back: start slowly, doubling each second up to where it was (see tick).
      outage_ = false;
      slow_start_ = true;
      change(std::max(settings_.min_rate, std::min(settings_.restart_rate, before_outage_)), Reason::restart, now);
    }
    failing_ = false;
    // Only once a limit was met: before, the daemon's own queueing (a busy loop, a full pool)
    // would read as the server's, and an API that keeps up would be slowed for nothing.
    if (!starting_ && latency_high()) cut(Reason::latency, now);
    return;
  }
  if (signal == CallSignal::other) return;  // a refused body or a missing job: not about load
  if (!failing_) {
    failing_ = true;
    first_failure_ = now;
    rate_before_failures_ = rate_;
  } else if (!outage_ && now - first_failure_ >= settings_.outage_after) {
    outage_ = true;
    before_outage_ = rate_before_failures_;
  }
  if (signal == CallSignal::throttled) return cut(Reason::throttled, now);
  // A 503 or a timeout is ambiguous: a server at its capacity, or a sporadic fault. Only a
  // share of them is read as load (else a few percent of faults would ratchet the rate down
  // cut after cut); they are retried either way.
  ++load_failed_;
  ++load_answers_;
  const double answers = static_cast<double>(load_answers_);
  // (Of at least a hundred answers: early in a window a few faults would be a large share by
  // chance. An API failing everything is an outage, found by time instead.)
  if (outage_ || static_cast<double>(load_failed_) >= settings_.overload_share * std::max(answers, kFewAnswers)) {
    cut(signal == CallSignal::unavailable ? Reason::unavailable : Reason::timeout, now);
  }
}

void AdaptiveRate::retry_after(std::chrono::milliseconds delay, double jitter, MonoTime now) {
  if (!settings_.enabled || delay.count() <= 0) return;
  auto spread = std::chrono::duration_cast<std::chrono::nanoseconds>(delay * (settings_.retry_after_jitter * jitter));
  MonoTime until = now + delay + spread;
  if (until > held_until_) {
    held_until_ = until;
    reason_ = Reason::retry_after;
    changed_at_ = now;
  }
}

void AdaptiveRate::set_ceiling(double ceiling, MonoTime now) {
  settings_.ceiling = ceiling;
  if (ceiling > 0 && rate_ > ceiling) change(ceiling, Reason::ceiling, now);
  if (ceiling <= 0 && reason_ == Reason::ceiling) change(kUnlimited, Reason::ceiling, now);
}

void AdaptiveRate::tick(MonoTime now) {
  if (!window_started_) {
    window_started_ = true;
    window_start_ = now;
    return;
  }
  if (now - load_window_start_ >= kWindow) {  // the share of 503s is over a second, start or not
    load_window_start_ = now;
    load_answers_ = load_failed_ = 0;
  }
  const std::chrono::nanoseconds window = starting_ ? start_window() : std::chrono::nanoseconds(kWindow);
  if (now - window_start_ < window) return;
  const double elapsed = seconds(now - window_start_);
  reached_ = static_cast<double>(sent_in_window_) / elapsed;
  // A window the account was held in (Retry-After) says nothing of what it accepts.
  if (held_until_ <= window_start_) accepted_ = static_cast<double>(ok_in_window_) / elapsed;
  // While starting, the rate doubles as soon as half of it is used: it stays twice what the
  // daemon sends, so a fast API never has its calls paced (pacing costs a wait and a requeue
  // per call: 20% more CPU per job on nginx when the start stopped just above the daemon's pace).
  const double binding = starting_ ? kStartBinding : kBinding;
  const bool grow = settings_.enabled && !trouble_in_window_ && !outage_ && std::isfinite(rate_) &&
                    reached_ >= binding * rate_ * std::min(1.0, seconds(window) / elapsed);
  if (grow && starting_) {
    const double next = settings_.ceiling > 0 ? std::min(rate_ * 2, settings_.ceiling) : rate_ * 2;
    if (next >= kNoLimitAbove) {
      starting_ = false;
      change(kUnlimited, Reason::start, now);
    } else if (next > rate_) {
      change(next, Reason::start, now);
    }
  } else if (grow) {
    cuts_in_a_row_ = 0;
    calm_accepted_ += static_cast<double>(ok_in_window_);
    calm_span_s_ += elapsed;
    double next = 0;
    if (slow_start_) {
      next = std::min(rate_ * 2, before_outage_);  // back to where it was, then probing
      slow_start_ = next < before_outage_;
      if (!slow_start_) {
        trouble_at_ = cut_to_ = before_outage_;
        calm_seconds_ = settings_.recovery_seconds;
      }
    } else {
      next = grown(rate_);
    }
    if (settings_.ceiling > 0) next = std::min(next, settings_.ceiling);
    if (next > rate_) change(next, slow_start_ ? Reason::restart : Reason::probing, now);
  }
  window_start_ = now;
  sent_in_window_ = 0;
  ok_in_window_ = 0;
  trouble_in_window_ = false;
}

std::chrono::nanoseconds AdaptiveRate::start_window() const {
  if (srtt_s_ <= 0) return kStartWindowMax;
  const auto rtts = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(kStartWindowRoundTrips * srtt_s_));
  return std::clamp<std::chrono::nanoseconds>(rtts, kStartWindowMin, kStartWindowMax);
}

void AdaptiveRate::cut(Reason why, MonoTime now) {
  trouble_in_window_ = true;
  slow_start_ = false;
  starting_ = false;
  if (cut_once_ && now - last_cut_ < settings_.cut_spacing) return;
  cut_once_ = true;
  last_cut_ = now;
  // From the rate of calls the account accepted, not the rate allowed or sent: that is the best
  // estimate of its limit (an allowance never used, or calls refused, say nothing about it).
  // The higher of the last closed window and the current one once it is long enough to count:
  // a window that just began, or a moment's stall, must not pass for the account's limit.
  const auto span = now - window_start_;
  const double current = static_cast<double>(ok_in_window_) / std::max(0.001, seconds(span));
  const bool current_counts = span >= settings_.cut_spacing && held_until_ <= window_start_;
  double basis = accepted_ < 0 ? current : current_counts ? std::max(accepted_, current) : accepted_;
  if (std::isfinite(rate_)) basis = std::min(basis, rate_);
  // Where trouble began: the accepted rate just now, or what the account took on average
  // through the calm seconds before, if lower. The first overshoots the limit by the account's
  // burst (a second at 1.07 R is refused nothing with a tenth of a second of burst), and a probe
  // back to it would meet the limit again within seconds.
  // (Lower by a tenth at most: far lower, the rate was growing into room it found, and the
  // accepted rate just now is the better figure.)
  if (calm_span_s_ >= kMinCalmSpan) {
    basis = std::min(basis, std::max(calm_accepted_ / calm_span_s_, settings_.decrease * basis));
  }
  calm_accepted_ = calm_span_s_ = 0;
  trouble_at_ = std::max(settings_.min_rate, basis);
  ++cuts_in_a_row_;
  const double factor = std::max(kDeepestCut, std::pow(settings_.decrease, cuts_in_a_row_));
  cut_to_ = std::max(settings_.min_rate, factor * basis);
  calm_seconds_ = 0;
  change(cut_to_, why, now);
}

double AdaptiveRate::grown(double rate) {
  if (trouble_at_ <= 0) trouble_at_ = cut_to_ = rate;  // growing with no trouble seen: probe from here
  ++calm_seconds_;
  const int k = std::max(1, settings_.recovery_seconds);
  if (calm_seconds_ <= k) {
    const double left = 1 - static_cast<double>(calm_seconds_) / k;
    return trouble_at_ - (trouble_at_ - cut_to_) * left * left * left;
  }
  const double probing_s = calm_seconds_ - k - 1;  // 0 in the first probing second
  return trouble_at_ + settings_.probe_calls * std::exp2(probing_s / seconds(settings_.probe_doubling));
}

void AdaptiveRate::change(double rate, Reason why, MonoTime now) {
  if (settings_.ceiling > 0) rate = std::min(rate, settings_.ceiling);
  rate_ = rate;
  reason_ = why;
  changed_at_ = now;
}

void AdaptiveRate::note_rtt(std::chrono::nanoseconds round_trip, MonoTime now) {
  const double rtt = seconds(round_trip);
  srtt_s_ = srtt_s_ == 0 ? rtt : (1 - kSmoothing) * srtt_s_ + kSmoothing * rtt;
  // The baseline is the lowest round trip of the last 30 to 60 s: it follows a route that got
  // slower for good, but not a queue that builds up over a few seconds.
  if (lowest_now_s_ == 0 || rtt < lowest_now_s_) lowest_now_s_ = rtt;
  if (now - lowest_since_ >= kBaselineSpan) {
    lowest_before_s_ = lowest_now_s_;
    lowest_now_s_ = rtt;
    lowest_since_ = now;
  }
  baseline_s_ = lowest_before_s_ > 0 ? std::min(lowest_before_s_, lowest_now_s_) : lowest_now_s_;
}

bool AdaptiveRate::latency_high() const {
  if (baseline_s_ <= 0) return false;
  const double margin = std::chrono::duration<double>(settings_.latency_margin).count();
  return srtt_s_ > settings_.latency_factor * baseline_s_ && srtt_s_ - baseline_s_ > margin;
}

std::string_view reason_name(AdaptiveRate::Reason reason) {
  switch (reason) {
    case AdaptiveRate::Reason::start: return "start";
    case AdaptiveRate::Reason::probing: return "probing";
    case AdaptiveRate::Reason::throttled: return "throttled (429)";
    case AdaptiveRate::Reason::unavailable: return "unavailable (503)";
    case AdaptiveRate::Reason::timeout: return "timeout";
    case AdaptiveRate::Reason::latency: return "latency above baseline";
    case AdaptiveRate::Reason::retry_after: return "Retry-After";
    case AdaptiveRate::Reason::restart: return "slow start after an outage";
    case AdaptiveRate::Reason::ceiling: return "ceiling (api.rate_limit_per_second)";
  }
  return "unknown";
}

CallSignal call_signal(int status, bool timed_out, bool transport_failed) {
  if (timed_out) return CallSignal::timeout;
  if (transport_failed) return CallSignal::other;
  if (status == 429) return CallSignal::throttled;
  if (status == 503) return CallSignal::unavailable;
  if (status >= 200 && status < 300) return CallSignal::ok;
  return CallSignal::other;
}

}  // namespace submitd::submit
