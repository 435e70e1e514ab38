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

TEST(LogLimiter, ABurstPerIntervalThenACount) {
  submitd::ManualClock clock;
  submitd::log::Limiter limit(10s, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limit.allow(clock.now()), 0u) << i;
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limit.allow(clock.now()));
  clock.advance(9s);
  EXPECT_FALSE(limit.allow(clock.now()));  // same window
  clock.advance(1s);
  EXPECT_EQ(limit.allow(clock.now()), 6u);  // a new window: the count of those left out
  EXPECT_EQ(limit.allow(clock.now()), 0u);
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

TEST(LogLine, TheTextFormIsTimestampLevelMessageAndTheFields) {
  using submitd::log::Fields;
  using submitd::log::Level;
  using submitd::log::text_line;
  const std::string ts = "2026-12-05T20:56:36.123Z";
  EXPECT_EQ(text_line(Level::warning, "API trouble", {}, ts), ts + " warning: API trouble\n");
  Fields f{.message_id = submitd::log::event::request_failed, .request_id = "r-1", .job_id = "j-1", .claim_id = "c1",
           .stage = "create", .http_status = 403};
  EXPECT_EQ(text_line(Level::info, "request r-1 failed", f, ts),
            ts + " info: request r-1 failed; request_id=r-1, job_id=j-1, claim_id=c1, stage=create, http_status=403\n");
  Fields hostile{.request_id = "r\n2"};
  EXPECT_EQ(text_line(Level::error, "x\ny", hostile, ts), ts + " error: x\\x0ay; request_id=r\\x0a2\n");
}
