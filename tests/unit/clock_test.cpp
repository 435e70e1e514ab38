// Role: unit tests of the RFC 3339 timestamps in outcome lines (util/clock): calendar edges,
// times before the epoch, milliseconds rounded down, the ends of WallTime's range.
#include "util/clock.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace submitd {
namespace {

using namespace std::chrono;

WallTime at(sys_days day, milliseconds into_day) { return WallTime(day) + into_day; }

TEST(Rfc3339, DatesTimesAndMillisecondsInAFixedLayout) {
  EXPECT_EQ(rfc3339(WallTime{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339(at(2024y / February / 29, hours(23) + minutes(59) + seconds(59) + milliseconds(999))),
            "2024-02-29T23:59:59.999Z");
  EXPECT_EQ(rfc3339(at(2026y / November / 29, hours(5) + minutes(7) + seconds(3) + milliseconds(40))),
            "2026-11-29T05:07:03.040Z");
  EXPECT_EQ(rfc3339(at(2000y / January / 1, milliseconds(0))), "2000-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339(at(2262y / April / 11, hours(23))), "2262-04-11T23:00:00.000Z");  // near the end of WallTime
  // Sub-millisecond parts are dropped, never rounded up into the next second.
  EXPECT_EQ(rfc3339(WallTime{} + microseconds(999'999)), "1970-01-01T00:00:00.999Z");
}

TEST(Rfc3339, BeforeTheEpochCountsBackFromMidnight) {
  EXPECT_EQ(rfc3339(WallTime{} - milliseconds(1)), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(rfc3339(at(1900y / March / 1, hours(12))), "1900-03-01T12:00:00.000Z");
  EXPECT_EQ(rfc3339(at(1678y / January / 1, milliseconds(0))), "1678-01-01T00:00:00.000Z");  // near its start
}

}  // namespace
}  // namespace submitd
