// Role: time as the daemon sees it. Wall-clock timestamps for records (RFC 3339, UTC, ms) and
// an injectable clock interface so that logic that decides by time is tested without sleeping.
#pragma once

#include <chrono>
#include <string>

namespace submitd {

using WallTime = std::chrono::system_clock::time_point;
using MonoTime = std::chrono::steady_clock::time_point;

std::string rfc3339(WallTime t);

// The clocks logic consults; tests substitute a ManualClock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime now() const = 0;
  virtual WallTime wall_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  MonoTime now() const override { return std::chrono::steady_clock::now(); }
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
};

class ManualClock final : public Clock {
 public:
  MonoTime now() const override { return mono_; }
  WallTime wall_now() const override { return wall_; }
  void advance(std::chrono::nanoseconds d) {
    mono_ += d;
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  }

 private:
  MonoTime mono_{std::chrono::hours(1)};
  WallTime wall_{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}};
};

}  // namespace submitd
