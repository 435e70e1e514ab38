// Role: RFC 3339 formatting of wall-clock time (see clock.hpp).
#include "util/clock.hpp"

#include <fmt/format.h>

#include <ctime>

namespace submitd {

std::string rfc3339(WallTime t) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  if (ms % 1000 < 0) --secs;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  long frac = static_cast<long>(((ms % 1000) + 1000) % 1000);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

}  // namespace submitd
