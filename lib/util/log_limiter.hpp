// Role: keeps a repeated error from flooding the log: the first occurrence is logged, then at
// most one per interval, each saying how many were left out meanwhile. Plain logic with the
// time passed in, so tests drive it without sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "util/clock.hpp"

namespace submitd::log {

class Limiter {
 public:
  explicit Limiter(std::chrono::milliseconds interval) : interval_(interval) {}
  // nullopt: leave this one out. Otherwise log it, with `note(skipped)` appended.
  std::optional<std::uint64_t> allow(MonoTime now) {
    if (logged_once_ && now - last_ < interval_) {
      ++skipped_;
      return std::nullopt;
    }
    logged_once_ = true;
    last_ = now;
    std::uint64_t skipped = skipped_;
    skipped_ = 0;
    return skipped;
  }
  static std::string note(std::uint64_t skipped) {
    return skipped == 0 ? std::string() : " (" + std::to_string(skipped) + " more like it not logged)";
  }

 private:
  std::chrono::milliseconds interval_;
  MonoTime last_{};
  bool logged_once_ = false;
  std::uint64_t skipped_ = 0;
};

}  // namespace submitd::log
