// Role: the log limiter: the first occurrence is logged, repeats within the interval are left
// out and counted, and the next allowed line says how many were left out.
#include "util/log_limiter.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

TEST(LogLimiter, OncePerIntervalWithACountOfTheRest) {
  submitd::ManualClock clock;
  submitd::log::Limiter limit(10s);
  EXPECT_EQ(limit.allow(clock.now()), 0u);
  for (int i = 0; i < 99; ++i) {
    clock.advance(50ms);
    EXPECT_FALSE(limit.allow(clock.now()));
  }
  clock.advance(10s);
  auto next = limit.allow(clock.now());
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, 99u);
  EXPECT_EQ(submitd::log::Limiter::note(*next), " (99 more like it not logged)");
  EXPECT_EQ(submitd::log::Limiter::note(0), "");
}
