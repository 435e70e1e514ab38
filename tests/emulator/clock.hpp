// Clock: the one source of "now" for every emulator decision (token expiry, job state).
// It is injected so unit tests can move time by hand instead of sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace emulator {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// A clock that only moves when told to. Thread-safe so a test may share it with any code.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{std::chrono::seconds{1'700'000'000}})
      : ticks_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint{TimePoint::duration{ticks_.load()}}; }
  void advance(std::chrono::nanoseconds by) {
    ticks_.fetch_add(std::chrono::duration_cast<TimePoint::duration>(by).count());
  }

 private:
  std::atomic<TimePoint::duration::rep> ticks_;
};

// RFC 3339 in UTC with microseconds, the shape ByteNite returns ("2023-03-15T21:34:04.314444Z").
std::string format_rfc3339(TimePoint t);

}  // namespace emulator
