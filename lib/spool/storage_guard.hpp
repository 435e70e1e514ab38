// Role: decides when the daemon must stop taking on work for lack of disk space, and when it
// may start again (issue "full disk"). Plain logic fed with what the file system said: a
// failed write (ENOSPC/EDQUOT), the free space seen before claiming, and the result of a probe
// write while stopped. Nothing accepted is dropped because of it: work already accepted keeps
// going, and what could not be written is written again once space is back.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <system_error>

#include "util/clock.hpp"

namespace submitd::spool {

// ENOSPC or EDQUOT: the file system (or the quota) is full. Other errors are not this guard's.
bool is_out_of_space(const std::error_code& ec);
// The same for an exception: a std::system_error carrying one of those codes.
bool is_out_of_space(const std::exception& e);

class StorageGuard {
 public:
  // reserve_bytes: below this much free space (spool.min_free_mb) no new work is claimed, so
  // what is already accepted still has room for its outcomes. probe_every: how often, while
  // stopped, to look whether space is back.
  StorageGuard(std::uint64_t reserve_bytes, std::chrono::nanoseconds probe_every);

  bool full() const { return full_; }
  // Why, for logs and status: "<what>: <error>" or "<n> bytes free, reserve <m>".
  const std::string& reason() const { return reason_; }

  // A write failed for lack of space. Returns true when this starts a full spell (log it
  // once, tell metrics), false while one is already on.
  bool on_write_failure(std::string_view what, const std::error_code& ec, MonoTime now);
  // Free space seen before claiming (the smallest of the daemon's file systems). Below the
  // reserve starts a spell; returns true if it did.
  bool on_free_space(std::uint64_t free_bytes, MonoTime now);
  // While full: whether it is time to probe again.
  bool probe_due(MonoTime now) const { return full_ && now >= next_probe_; }
  // The result of a probe: free space and whether a small test write (with fsync) went
  // through. Returns true when the spell ends.
  bool on_probe(std::uint64_t free_bytes, bool write_ok, MonoTime now);

 private:
  void start_spell(std::string reason, MonoTime now);

  std::uint64_t reserve_bytes_;
  std::chrono::nanoseconds probe_every_;
  bool full_ = false;
  std::string reason_;
  MonoTime next_probe_{};
};

// What the file system holding `dir` has free for an unprivileged writer (statvfs f_bavail),
// in bytes. Throws std::system_error if statvfs fails.
std::uint64_t free_bytes(const std::string& dir);
// Writes and fsyncs a small hidden file in `dir` and removes it: proves a write fits now.
bool probe_write(const std::string& dir);

}  // namespace submitd::spool
