// Role: keeps a repeated error from flooding the log: the first `burst` occurrences of each
// interval are logged (one by default), the rest counted, and the next line logged says how
// many were left out meanwhile. Plain logic with the time passed in, so tests drive it
// without sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "util/clock.hpp"

namespace submitd::log {

class Limiter {
 public:
  explicit Limiter(std::chrono::milliseconds interval, std::uint64_t burst = 1) : interval_(interval), burst_(burst) {}
  // nullopt: leave this one out. Otherwise log it, with `note(skipped)` appended.
  std::optional<std::uint64_t> allow(MonoTime now) {
    if (!logged_once_ || now - window_start_ >= interval_) {
      logged_once_ = true;
      window_start_ = now;
      used_ = 0;
    }
    if (used_ >= burst_) {
      ++skipped_;
      return std::nullopt;
    }
    ++used_;
    std::uint64_t skipped = skipped_;
    skipped_ = 0;
    return skipped;
  }
  static std::string note(std::uint64_t skipped) {
    return skipped == 0 ? std::string() : " (" + std::to_string(skipped) + " more like it not logged)";
  }

 private:
  std::chrono::milliseconds interval_;
  std::uint64_t burst_;
  MonoTime window_start_{};
  std::uint64_t used_ = 0;
  bool logged_once_ = false;
  std::uint64_t skipped_ = 0;
};

}  // namespace submitd::log
