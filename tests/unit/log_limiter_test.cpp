// Role: the log limiter: the first occurrence is logged, repeats within the interval are left
// out and counted, and the next allowed line says how many were left out. Also: every logged
// line is one line (control characters escaped).
#include "util/log_limiter.hpp"
#include "util/log.hpp"

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

// Log forging: a file named "a\n<2>FORGED.json" must not write a line journald reads as a
// critical message of its own.
TEST(LogLine, ControlCharactersAreEscapedSoNothingStartsALineOfItsOwn) {
  using submitd::log::one_line;
  EXPECT_EQ(one_line("plain text, 100% fine: {\"a\":1}"), "plain text, 100% fine: {\"a\":1}");
  EXPECT_EQ(one_line("a\n<2>FORGED.json"), "a\\x0a<2>FORGED.json");
  EXPECT_EQ(one_line("cr\r tab\t esc\x1b del\x7f"), "cr\\x0d tab\\x09 esc\\x1b del\\x7f");
  EXPECT_EQ(one_line(std::string("nul\0end", 7)), "nul\\x00end");
  EXPECT_EQ(one_line("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 is text, not control
}
