// Role: RFC 3339 formatting of wall-clock time (see clock.hpp).
#include "util/clock.hpp"

#include <chrono>

namespace submitd {

namespace {

// Writes `value` as exactly `width` decimal digits ending just before `end`.
void put_digits(char* end, int width, long value) {
  for (int i = 0; i < width; ++i, value /= 10) *--end = static_cast<char>('0' + value % 10);
}

}  // namespace

std::string rfc3339(WallTime t) {
  using namespace std::chrono;
  // Two of these per outcome line: the calendar arithmetic of <chrono> and a fixed layout,
  // not gmtime_r (a lock inside glibc) and fmt (a tenth of the outcome line's cost).
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day date{day};
  // WallTime counts nanoseconds in 64 bits: years 1677 to 2262, always four digits.
  const int year = static_cast<int>(date.year());
  const long in_day = (ms - day).count();  // milliseconds into the day, 0..86,399,999
  std::string out = "0000-00-00T00:00:00.000Z";
  char* p = out.data();
  put_digits(p + 4, 4, year);
  put_digits(p + 7, 2, static_cast<long>(static_cast<unsigned>(date.month())));
  put_digits(p + 10, 2, static_cast<long>(static_cast<unsigned>(date.day())));
  put_digits(p + 13, 2, in_day / 3'600'000);
  put_digits(p + 16, 2, in_day / 60'000 % 60);
  put_digits(p + 19, 2, in_day / 1000 % 60);
  put_digits(p + 23, 3, in_day % 1000);
  return out;
}

}  // namespace submitd
