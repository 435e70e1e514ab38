// Role: drives the connection pool's decisions with an injected clock: which slot a call
// gets, when an idle connection is too old to use, when a failed call may be replayed, and
// the hold after a refused certificate (no sockets, no sleeping).
#include "api/pool_slots.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using submitd::ManualClock;
using submitd::api::PoolSlots;

TEST(PoolSlots, OpensUpToItsSizeThenCallersWait) {
  ManualClock clock;
  PoolSlots pool(2, 30s);
  auto a = pool.acquire(clock.now());
  auto b = pool.acquire(clock.now());
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->slot, b->slot);
  EXPECT_FALSE(a->reuse);  // nothing open yet
  EXPECT_FALSE(pool.acquire(clock.now()));
  EXPECT_EQ(pool.busy_count(), 2u);
  pool.opened(a->slot, false);
  pool.release(a->slot, clock.now());
  auto c = pool.acquire(clock.now());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->slot, a->slot);
  EXPECT_TRUE(c->reuse);
}

TEST(PoolSlots, PrefersTheMostRecentlyUsedOpenConnection) {
  ManualClock clock;
  PoolSlots pool(3, 30s);
  auto a = pool.acquire(clock.now());
  auto b = pool.acquire(clock.now());
  pool.opened(a->slot, false);
  pool.opened(b->slot, true);
  pool.release(a->slot, clock.now());
  clock.advance(1s);
  pool.release(b->slot, clock.now());
  auto next = pool.acquire(clock.now());
  EXPECT_EQ(next->slot, b->slot);
  EXPECT_TRUE(next->reuse);
  // An open idle connection is preferred to opening the third slot.
  auto again = pool.acquire(clock.now());
  EXPECT_EQ(again->slot, a->slot);
  EXPECT_TRUE(again->reuse);
}

TEST(PoolSlots, IdleConnectionPastTheTimeoutIsClosedNotReused) {
  ManualClock clock;
  PoolSlots pool(1, 30s);
  auto a = pool.acquire(clock.now());
  pool.opened(a->slot, false);
  pool.release(a->slot, clock.now());
  clock.advance(30s);
  auto fresh = pool.acquire(clock.now());
  EXPECT_TRUE(fresh->reuse);  // exactly at the timeout: still fresh
  pool.release(fresh->slot, clock.now());
  clock.advance(30s + 1ms);
  auto stale = pool.acquire(clock.now());
  ASSERT_TRUE(stale);
  EXPECT_FALSE(stale->reuse);
  EXPECT_TRUE(stale->close_first);
}

TEST(PoolSlots, KnowsEachConnectionsHealth) {
  ManualClock clock;
  PoolSlots pool(2, 30s);
  auto a = pool.acquire(clock.now());
  pool.opened(a->slot, false);
  pool.call_done(a->slot);
  pool.call_done(a->slot);
  EXPECT_EQ(pool.open_count(), 1u);
  EXPECT_EQ(pool.connects(), 1u);
  EXPECT_EQ(pool.resumed_connects(), 0u);
  EXPECT_TRUE(pool.health(a->slot).busy);
  EXPECT_EQ(pool.health(a->slot).calls, 2u);
  pool.closed(a->slot, true);
  EXPECT_EQ(pool.open_count(), 0u);
  EXPECT_EQ(pool.health(a->slot).failures, 1u);
  pool.closed(a->slot, false);  // closing twice does not count twice
  EXPECT_EQ(pool.open_count(), 0u);
  EXPECT_EQ(pool.health(a->slot).failures, 1u);
  pool.release(a->slot, clock.now());
  EXPECT_EQ(pool.busy_count(), 0u);
  EXPECT_FALSE(pool.health(a->slot).busy);
}

TEST(PoolSlots, ReplaysOnlyReplaySafeCallsThatMetAStaleReusedConnectionOnce) {
  EXPECT_TRUE(PoolSlots::should_replay(true, true, true, 0));
  EXPECT_FALSE(PoolSlots::should_replay(true, true, true, 1));   // once only
  EXPECT_FALSE(PoolSlots::should_replay(false, true, true, 0));  // a fresh connection failed
  EXPECT_FALSE(PoolSlots::should_replay(true, false, true, 0));  // e.g. a timeout: may have run
  EXPECT_FALSE(PoolSlots::should_replay(true, true, false, 0));  // run: never blindly re-sent
}

TEST(PoolSlots, RefusedCertificateHoldsConnectingForAWhile) {
  ManualClock clock;
  PoolSlots pool(4, 30s);
  EXPECT_FALSE(pool.connect_held(clock.now()));
  pool.certificate_refused("certificate not accepted: self-signed", clock.now(), 60s);
  clock.advance(59s);
  auto held = pool.connect_held(clock.now());
  ASSERT_TRUE(held);
  EXPECT_EQ(*held, "certificate not accepted: self-signed");
  clock.advance(1s);
  EXPECT_FALSE(pool.connect_held(clock.now()));  // one try per hold
  pool.certificate_refused("again", clock.now(), 60s);
  pool.certificate_accepted();  // e.g. the server's certificate was fixed
  EXPECT_FALSE(pool.connect_held(clock.now()));
}
