// Role: the adaptive account rate, driven in simulated time: single rules with a manual clock,
// then whole runs of one or two clients against a simulated account (a token bucket that
// answers 429 beyond its limit, or 503 during an outage), stepped a millisecond at a time.
// The simulation is the acceptance scenarios in miniature (R = 400 calls/s): it
// checks the rule's shape (share of the limit reached, refusals, reaction times, fairness),
// deterministically; the emulator runs in bench/ measure the real daemon.
#include "submit/adaptive_rate.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <deque>
#include <random>
#include <vector>

using namespace std::chrono_literals;
using submitd::ManualClock;
using submitd::MonoTime;
using submitd::submit::AdaptiveRate;
using submitd::submit::AdaptiveRateSettings;
using submitd::submit::CallSignal;
using Reason = AdaptiveRate::Reason;

namespace {

struct Answer {
  CallSignal signal = CallSignal::ok;
  std::chrono::milliseconds retry_after{0};
};

// The account: a token bucket of `limit` calls/s (burst a tenth of it), or down (503). Like
// the emulator (and real APIs), a 429 says Retry-After: the seconds until a token, rounded up.
struct Account {
  double limit = 400;
  double tokens = 40;
  bool down = false;
  bool retry_after = true;
  double fault_share = 0;  // sporadic 503s, whatever the load
  std::mt19937 faults{11};
  void refill(double dt_s) { tokens = std::min(limit / 10, tokens + limit * dt_s); }
  Answer answer() {
    if (down || std::uniform_real_distribution<double>(0, 1)(faults) < fault_share) return {CallSignal::unavailable};
    if (limit <= 0) return {};
    if (tokens < 1) {
      const auto wait_s = std::max(1.0, std::ceil((1 - tokens) / limit));
      return {CallSignal::throttled, retry_after ? std::chrono::milliseconds(static_cast<int>(wait_s) * 1000) : 0ms};
    }
    tokens -= 1;
    return {};
  }
};

// A daemon: always has work; paces its calls at rate() (a small local bucket), at most
// 64 calls in flight, each answered 2 ms after it was sent.
struct Client {
  AdaptiveRate rate{AdaptiveRateSettings{}};
  double tokens = 0;
  std::size_t inflight = 0;
  std::deque<std::pair<MonoTime, Answer>> answers;
  std::vector<int> ok, refused;  // per simulated second
};

class Sim {
 public:
  explicit Sim(std::size_t clients) : clients_(clients) {}
  Account account;
  Client& client(std::size_t i) { return clients_[i]; }
  int second() const { return static_cast<int>((clock_.now() - start_) / 1s); }
  MonoTime now() const { return clock_.now(); }

  void run_for(std::chrono::milliseconds span) {
    const MonoTime end = clock_.now() + span;
    while (clock_.now() < end) step();
  }
  // Calls answered ok / refused per second by all clients, over seconds [from, to).
  double ok_per_second(int from, int to) const { return total(&Client::ok, from, to) / (to - from); }
  double refused_share(int from, int to) const {
    const double ok = total(&Client::ok, from, to), no = total(&Client::refused, from, to);
    return ok + no > 0 ? no / (ok + no) : 0;
  }
  double share(std::size_t i, int from, int to) const {
    double mine = 0;
    for (int s = from; s < to; ++s) mine += clients_[i].ok.at(s);
    return mine / total(&Client::ok, from, to);
  }

 private:
  double total(std::vector<int> Client::*counts, int from, int to) const {
    double sum = 0;
    for (const auto& c : clients_) {
      for (int s = from; s < to; ++s) sum += (c.*counts).at(s);
    }
    return sum;
  }
  void step() {
    clock_.advance(1ms);
    const MonoTime now = clock_.now();
    account.refill(0.001);
    const auto s = static_cast<std::size_t>(second());
    // Who comes first within a millisecond is random (seeded): a fixed order would hand the
    // account's last tokens to the same client every time.
    std::vector<std::size_t> order(clients_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng_);
    for (std::size_t i : order) {
      Client& c = clients_[i];
      c.ok.resize(s + 1);
      c.refused.resize(s + 1);
      while (!c.answers.empty() && c.answers.front().first <= now) {
        const auto [signal, retry_after] = c.answers.front().second;
        c.answers.pop_front();
        --c.inflight;
        c.rate.answered(signal, 2ms, now);
        if (retry_after.count() > 0) c.rate.retry_after(retry_after, jitter_(rng_), now);
        (signal == CallSignal::ok ? c.ok : c.refused)[s] += 1;
      }
      const double r = c.rate.rate();
      if (std::isfinite(r)) c.tokens = std::min(std::max(1.0, r / 20), c.tokens + r * 0.001);
      while (c.inflight < 64 && !c.rate.holding(now) && (!std::isfinite(r) || c.tokens >= 1)) {
        if (std::isfinite(r)) c.tokens -= 1;
        c.rate.sent(now);
        c.answers.emplace_back(now + 2ms, account.answer());
        ++c.inflight;
      }
    }
  }

  ManualClock clock_;
  MonoTime start_ = clock_.now();
  std::mt19937 rng_{7};
  std::uniform_real_distribution<double> jitter_{0, 1};
  std::vector<Client> clients_;
};

}  // namespace

TEST(AdaptiveRate, HoldsAnAccountLimitNearItWithFewRefusals) {
  Sim sim(1);
  sim.run_for(60s);
  EXPECT_GE(sim.ok_per_second(10, 60), 0.9 * 400);
  EXPECT_LE(sim.refused_share(10, 60), 0.02);
  EXPECT_LE(sim.client(0).rate.rate(), 400 * 1.2);
}

TEST(AdaptiveRate, WithoutRetryAfterTheLimitIsHeldToo) {
  Sim sim(1);
  sim.account.retry_after = false;
  sim.run_for(60s);
  EXPECT_GE(sim.ok_per_second(10, 60), 0.9 * 400);
  EXPECT_LE(sim.refused_share(10, 60), 0.02);
}

TEST(AdaptiveRate, FindsADoubledLimitWithinTwentySecondsAndFollowsAHalvedOneWithinFive) {
  Sim sim(1);
  sim.run_for(30s);
  sim.account.limit = 800;
  sim.run_for(20s);
  int reached = 0;
  for (int s = 30; s < 50; ++s) reached += sim.client(0).ok.at(s) >= 0.9 * 800 ? 1 : 0;
  EXPECT_GE(reached, 1) << "a second at 0.9 of the doubled limit within 20 s";
  sim.run_for(20s);
  EXPECT_GE(sim.ok_per_second(50, 70), 0.85 * 800) << "and it holds it";
  sim.account.limit = 400;
  sim.run_for(5s);
  // It keeps probing a little past a limit: "under" within a tenth.
  EXPECT_LE(sim.client(0).rate.rate(), 440);
  EXPECT_LE(sim.refused_share(74, 75), 0.05) << "5 s after the limit was halved, refusals have stopped";
  sim.run_for(30s);
  EXPECT_GE(sim.ok_per_second(80, 105), 0.9 * 400) << "and it holds the halved limit as well";
}

TEST(AdaptiveRate, ALimitCutToAQuarterIsFollowedWithinSixSeconds) {
  Sim sim(1);
  sim.account.limit = 800;
  sim.run_for(40s);
  ASSERT_GE(sim.client(0).rate.rate(), 0.85 * 800);
  sim.account.limit = 200;
  // Each cut waits out a Retry-After hold (1 to 1.25 s), and cuts in a row go 0.9, 0.81,
  // 0.73, 0.66, 0.59 of the rate: five holds to a quarter (a halving takes three).
  sim.run_for(6s);
  EXPECT_LE(sim.client(0).rate.rate(), 1.1 * 200);
  sim.run_for(30s);
  EXPECT_GE(sim.ok_per_second(56, 76), 0.85 * 200) << "and it does not stay far below it";
}

TEST(AdaptiveRate, TwoClientsOnOneAccountShareItFairly) {
  Sim sim(2);
  sim.run_for(120s);
  EXPECT_GE(sim.ok_per_second(30, 120), 0.85 * 400);
  EXPECT_LE(sim.refused_share(30, 120), 0.05);
  EXPECT_GE(sim.share(0, 30, 120), 0.4);
  EXPECT_LE(sim.share(0, 30, 120), 0.6);
}

TEST(AdaptiveRate, AnOutageIsWaitedOutSlowlyAndLeftWithASlowStart) {
  Sim sim(1);
  sim.run_for(30s);
  sim.account.down = true;
  sim.run_for(60s);
  // During the outage the rate falls to its floor: about one call a second, not a storm.
  int during = 0;
  for (int s = 35; s < 90; ++s) during += sim.client(0).refused.at(s);
  EXPECT_LE(during, 2 * 55);
  EXPECT_TRUE(sim.client(0).rate.in_outage());
  sim.account.down = false;
  sim.run_for(2s);
  EXPECT_EQ(sim.client(0).rate.last_change(), Reason::restart);
  EXPECT_LT(sim.client(0).rate.rate(), 100) << "starts slowly";
  sim.run_for(28s);
  EXPECT_GE(sim.ok_per_second(119, 120), 0.9 * 400) << "back within 30 s";
}

TEST(AdaptiveRate, SporadicFaultsDoNotRatchetTheRateDown) {
  Sim sim(1);
  sim.account.fault_share = 0.03;
  sim.run_for(60s);
  EXPECT_GE(sim.ok_per_second(10, 60), 0.85 * 400);
  // Without a limit, 3% of 503s impose none.
  Sim open(1);
  open.account.limit = 0;
  open.account.fault_share = 0.03;
  open.run_for(5s);
  EXPECT_GT(open.client(0).rate.rate(), 32000) << "above all the client can send";
  EXPECT_EQ(open.client(0).rate.last_change(), Reason::start);
}

TEST(AdaptiveRate, NoLimitIsImposedWhileTheApiKeepsUp) {
  Sim sim(1);
  sim.account.limit = 0;
  sim.run_for(5s);
  // The start doubles the rate every 4 round trips (here the floor, 20 ms) past all 64 calls
  // in flight of 2 ms each can send (32,000/s) within a quarter second; it stops doubling
  // there, where it binds nothing.
  EXPECT_GT(sim.client(0).rate.rate(), 32000);
  EXPECT_EQ(sim.client(0).rate.last_change(), Reason::start);
  EXPECT_GE(sim.ok_per_second(0, 1), 0.7 * 32000) << "the ramp costs a fraction of the first second";
  EXPECT_GE(sim.ok_per_second(1, 5), 30000);
}

TEST(AdaptiveRate, RetryAfterHoldsEveryCallWithJitter) {
  ManualClock clock;
  AdaptiveRate early{AdaptiveRateSettings{}}, late{AdaptiveRateSettings{}};
  early.retry_after(2s, 0.0, clock.now());
  late.retry_after(2s, 0.99, clock.now());
  EXPECT_TRUE(early.holding(clock.now() + 1999ms));
  EXPECT_FALSE(early.holding(clock.now() + 2s));
  EXPECT_TRUE(late.holding(clock.now() + 2400ms)) << "up to a quarter later, so sharers spread out";
  EXPECT_FALSE(late.holding(clock.now() + 2500ms));
  EXPECT_EQ(late.last_change(), Reason::retry_after);
  // A shorter Retry-After does not shorten a hold.
  late.retry_after(1s, 0.0, clock.now());
  EXPECT_TRUE(late.holding(clock.now() + 2400ms));
}

TEST(AdaptiveRate, LatencyPastItsBaselineCutsOnceALimitIsKnown) {
  ManualClock clock;
  AdaptiveRate r{AdaptiveRateSettings{}};
  // Before any limit: slow answers alone impose none (the daemon's own queueing looks the same).
  for (int i = 0; i < 50; ++i) r.answered(CallSignal::ok, 2ms, clock.now());
  for (int i = 0; i < 50; ++i) r.answered(CallSignal::ok, 40ms, clock.now());
  EXPECT_EQ(r.last_change(), Reason::start);
  EXPECT_EQ(r.rate(), 50) << "the start rate, not cut";
  // A 429 sets a limit; the next second of slow answers cuts it again, for latency.
  for (int i = 0; i < 100; ++i) {
    r.sent(clock.now());
    r.answered(CallSignal::ok, 2ms, clock.now());
    clock.advance(10ms);
  }
  r.answered(CallSignal::throttled, 2ms, clock.now());
  const double after_429 = r.rate();
  EXPECT_TRUE(std::isfinite(after_429));
  EXPECT_EQ(r.last_change(), Reason::throttled);
  clock.advance(300ms);
  for (int i = 0; i < 60; ++i) r.answered(CallSignal::ok, 40ms, clock.now());
  EXPECT_EQ(r.last_change(), Reason::latency);
  EXPECT_LT(r.rate(), after_429);
  EXPECT_NEAR(r.baseline_rtt_s(), 0.002, 1e-9);
}

TEST(AdaptiveRate, OneRefusalBurstIsOneCut) {
  ManualClock clock;
  AdaptiveRate r{AdaptiveRateSettings{}};
  for (int i = 0; i < 200; ++i) {
    r.sent(clock.now());
    r.answered(CallSignal::ok, 2ms, clock.now());
    clock.advance(5ms);  // 200 calls/s for a second
  }
  r.answered(CallSignal::throttled, 2ms, clock.now());
  const double once = r.rate();
  EXPECT_NEAR(once, 0.9 * 200, 5);
  for (int i = 0; i < 20; ++i) r.answered(CallSignal::throttled, 2ms, clock.now() + 1ms * i);
  EXPECT_EQ(r.rate(), once);
  clock.advance(250ms);
  r.answered(CallSignal::throttled, 2ms, clock.now());
  EXPECT_NEAR(r.rate(), 0.81 * once, 2) << "a new burst, past the spacing and with no calm second "
                                             "since, cuts again, deeper (0.9 squared)";
}

// One second of `calls` calls, evenly spread, all answered ok.
void calm_second(AdaptiveRate& r, ManualClock& clock, int calls) {
  for (int i = 0; i < calls; ++i) {
    r.sent(clock.now());
    r.answered(CallSignal::ok, 2ms, clock.now());
    clock.advance(std::chrono::microseconds(1'000'000 / calls));
  }
}

TEST(AdaptiveRate, AfterACutItReturnsToWhereTroubleBeganThenProbesSlowlyThenFast) {
  ManualClock clock;
  AdaptiveRate r{AdaptiveRateSettings{}};
  for (int i = 0; i < 3; ++i) calm_second(r, clock, 400);
  r.answered(CallSignal::throttled, 2ms, clock.now());
  ASSERT_NEAR(r.rate(), 360, 4) << "0.9 of the 400/s accepted";
  std::vector<double> rates;  // rates[s]: after second s (which a window closes one call later)
  for (int s = 0; s < 19; ++s) {
    calm_second(r, clock, static_cast<int>(std::lround(r.rate())));
    rates.push_back(r.rate());
  }
  EXPECT_EQ(rates[1], rates[0]) << "the second of the cut is not a calm one";
  // Three seconds back, most of the way in the first (a cubic flattening out at 400) ...
  EXPECT_GT(rates[2], 385);
  EXPECT_NEAR(rates[4], 400, 1);
  // ... then six seconds within 1% of it, where the probe is a fraction of a call per second ...
  for (int s = 5; s < 11; ++s) EXPECT_LT(rates[s], 404) << "second " << s;
  // ... and then the probe doubles every 1.25 s: past 1.5 times the rate 18 s after the cut.
  EXPECT_GT(rates[18], 600);
  EXPECT_EQ(r.last_change(), Reason::probing);
}

TEST(AdaptiveRate, TroubleBeginsWhereTheCalmSecondsWereNotWhereABurstReached) {
  ManualClock clock;
  AdaptiveRate r{AdaptiveRateSettings{}};
  for (int i = 0; i < 3; ++i) calm_second(r, clock, 400);
  r.answered(CallSignal::throttled, 2ms, clock.now());
  for (int s = 0; s < 6; ++s) calm_second(r, clock, 400);  // 400/s for seconds on end
  // One second at 430/s (the account's burst let it through), then a 429: the limit is near
  // the 400/s of the calm seconds (less than a tenth lower), not at 430.
  calm_second(r, clock, 430);
  r.answered(CallSignal::throttled, 2ms, clock.now());
  EXPECT_NEAR(r.rate(), 0.9 * (6 * 400 + 430) / 7.0, 4);
  for (int s = 0; s < 3; ++s) calm_second(r, clock, static_cast<int>(std::lround(r.rate())));
  EXPECT_LT(r.rate(), 410) << "recovered to about 404/s, not 430";
}

TEST(AdaptiveRate, TheCeilingCapsAndIsAppliedAtOnce) {
  AdaptiveRateSettings settings;
  settings.ceiling = 100;
  Sim sim(1);
  sim.client(0).rate = AdaptiveRate(settings);
  sim.account.limit = 0;
  sim.run_for(5s);
  EXPECT_EQ(sim.client(0).rate.rate(), 100);
  EXPECT_NEAR(sim.ok_per_second(1, 5), 100, 6);
  sim.client(0).rate.set_ceiling(50, sim.now());
  EXPECT_EQ(sim.client(0).rate.rate(), 50);
  EXPECT_EQ(sim.client(0).rate.last_change(), Reason::ceiling);
}

TEST(AdaptiveRate, OffItIsTheFixedCeilingWhateverHappens) {
  ManualClock clock;
  AdaptiveRateSettings settings;
  settings.enabled = false;
  settings.ceiling = 300;
  AdaptiveRate r(settings);
  r.answered(CallSignal::throttled, 2ms, clock.now());
  r.retry_after(5s, 0.5, clock.now());
  EXPECT_EQ(r.rate(), 300);
  EXPECT_FALSE(r.holding(clock.now()));
  settings.ceiling = 0;
  EXPECT_TRUE(std::isinf(AdaptiveRate(settings).rate()));
}

TEST(AdaptiveRate, CallSignals) {
  using submitd::submit::call_signal;
  EXPECT_EQ(call_signal(200, false, false), CallSignal::ok);
  EXPECT_EQ(call_signal(429, false, false), CallSignal::throttled);
  EXPECT_EQ(call_signal(503, false, false), CallSignal::unavailable);
  EXPECT_EQ(call_signal(0, true, true), CallSignal::timeout);
  EXPECT_EQ(call_signal(0, false, true), CallSignal::other);
  EXPECT_EQ(call_signal(400, false, false), CallSignal::other);
}

