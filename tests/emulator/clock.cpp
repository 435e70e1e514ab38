// RFC 3339 formatting for the timestamps the emulator puts in Job objects.
#include "clock.hpp"

#include <cstdio>
#include <ctime>

namespace emulator {

std::string format_rfc3339(TimePoint t) {
  using namespace std::chrono;
  const auto since = t.time_since_epoch();
  auto secs = duration_cast<seconds>(since);
  auto micros = duration_cast<microseconds>(since - secs).count();
  if (micros < 0) {  // floor for times before the epoch, so the fraction stays positive
    secs -= seconds{1};
    micros += 1'000'000;
  }
  const std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[96];  // generous: the compiler cannot prove tm fields are small
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long>(micros));
  return buf;
}

}  // namespace emulator
