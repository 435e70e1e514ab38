// Role: drives the shared-token decisions through expiry, margins and late 401s with an
// injected clock (no sleeping, no sockets).
#include "api/token_state.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using submitd::ManualClock;
using submitd::api::TokenState;
using Action = TokenState::Action;

TEST(TokenState, FirstCallerRefreshesOthersWait) {
  ManualClock clock;
  TokenState s;
  EXPECT_EQ(s.decide(clock.now()), Action::refresh);
  s.refresh_started();
  EXPECT_EQ(s.decide(clock.now()), Action::wait);
  s.refresh_succeeded("t1", 3600s, clock.now());
  EXPECT_EQ(s.decide(clock.now()), Action::use);
  EXPECT_EQ(s.token(), "t1");
}

TEST(TokenState, SoftMarginRefreshesOnceInBackgroundHardMarginBlocks) {
  ManualClock clock;
  TokenState s({300s, 30s});
  s.refresh_started();
  s.refresh_succeeded("t1", 3600s, clock.now());
  clock.advance(3600s - 300s);
  EXPECT_EQ(s.decide(clock.now()), Action::use_and_refresh);
  s.refresh_started();
  EXPECT_EQ(s.decide(clock.now()), Action::use);  // only one background refresh
  clock.advance(300s - 30s);
  EXPECT_EQ(s.decide(clock.now()), Action::wait);  // past the hard margin: wait for it
  s.refresh_succeeded("t2", 3600s, clock.now());
  EXPECT_EQ(s.decide(clock.now()), Action::use);
  EXPECT_EQ(s.token(), "t2");
}

TEST(TokenState, ShortLifetimeStillUsedForMostOfItsLife) {
  ManualClock clock;
  TokenState s({300s, 30s});
  s.refresh_started();
  s.refresh_succeeded("t", 2s, clock.now());
  EXPECT_EQ(s.decide(clock.now()), Action::use);
  clock.advance(1600ms);
  EXPECT_EQ(s.decide(clock.now()), Action::use_and_refresh);
  clock.advance(400ms);
  EXPECT_EQ(s.decide(clock.now()), Action::refresh);
}

TEST(TokenState, LateUnauthorizedForOldTokenKeepsNewOne) {
  ManualClock clock;
  TokenState s;
  s.refresh_started();
  s.refresh_succeeded("old", 3600s, clock.now());
  EXPECT_TRUE(s.rejected("old"));
  EXPECT_EQ(s.decide(clock.now()), Action::refresh);
  s.refresh_started();
  s.refresh_succeeded("new", 3600s, clock.now());
  EXPECT_FALSE(s.rejected("old"));  // a 401 that names the replaced token changes nothing
  EXPECT_EQ(s.decide(clock.now()), Action::use);
  EXPECT_EQ(s.token(), "new");
}

TEST(TokenState, FailedRefreshLetsTheNextCallerTry) {
  ManualClock clock;
  TokenState s;
  s.refresh_started();
  s.refresh_failed();
  EXPECT_EQ(s.decide(clock.now()), Action::refresh);
}

TEST(TokenState, RefusedKeyHoldsExchangesForTheHoldThenAllowsOne) {
  ManualClock clock;
  submitd::api::TokenTiming timing;
  timing.key_refused_hold = 60s;
  TokenState s(timing);
  EXPECT_EQ(s.decide(clock.now()), Action::refresh);
  s.refresh_started();
  s.key_refused(clock.now());
  EXPECT_EQ(s.decide(clock.now()), Action::refused);
  clock.advance(59s);
  EXPECT_EQ(s.decide(clock.now()), Action::refused);
  clock.advance(1s);
  EXPECT_EQ(s.decide(clock.now()), Action::refresh);  // one try per hold
  s.refresh_started();
  EXPECT_EQ(s.decide(clock.now()), Action::wait);
  s.refresh_succeeded("t1", 3600s, clock.now());
  EXPECT_EQ(s.decide(clock.now()), Action::use);
}

// A SIGHUP with a new api.blocked_retry used to leave the start-up hold in place.
TEST(TokenState, ReloadedHoldIsUsedFromTheNextRefusal) {
  ManualClock clock;
  submitd::api::TokenTiming timing;
  timing.key_refused_hold = 60s;
  TokenState s(timing);
  s.set_key_refused_hold(5s);
  s.refresh_started();
  s.key_refused(clock.now());
  clock.advance(4s);
  EXPECT_EQ(s.decide(clock.now()), Action::refused);
  clock.advance(1s);
  EXPECT_EQ(s.decide(clock.now()), Action::refresh);
  s.set_key_refused_hold(120s);  // longer too
  s.refresh_started();
  s.key_refused(clock.now());
  clock.advance(119s);
  EXPECT_EQ(s.decide(clock.now()), Action::refused);
  clock.advance(1s);
  EXPECT_EQ(s.decide(clock.now()), Action::refresh);
}

TEST(TokenState, NewKeyLiftsTheHold) {
  ManualClock clock;
  TokenState s;
  s.refresh_started();
  s.key_refused(clock.now());
  EXPECT_EQ(s.decide(clock.now()), Action::refused);
  s.key_replaced();
  EXPECT_EQ(s.decide(clock.now()), Action::refresh);
}

// Found while fuzzing the token grant: a lifetime of centuries overflowed the deadlines and
// made every caller exchange again.
TEST(TokenState, AbsurdLifetimeIsTrustedForADay) {
  ManualClock clock;
  TokenState s;
  s.refresh_started();
  s.refresh_succeeded("t1", std::chrono::seconds(10'000'000'000), clock.now());
  EXPECT_EQ(s.decide(clock.now()), Action::use);
  clock.advance(std::chrono::hours(24) - 301s);
  EXPECT_EQ(s.decide(clock.now()), Action::use);
  clock.advance(2s);
  EXPECT_EQ(s.decide(clock.now()), Action::use_and_refresh);
}
