// Role: the daemon's view of its disks (decisions in spool/storage_guard.hpp): a refused write
// or free space under the reserve starts a full-disk spell, which stops new work from being
// claimed or accepted while work in flight goes on; a probe now and then ends it. Every part
// that writes (file runners, sources, the follower) reports its refused writes here.
#pragma once

#include <exception>
#include <string>
#include <string_view>

#include "journal/journal.hpp"
#include "spool/spool_paths.hpp"
#include "spool/storage_guard.hpp"
#include "submit/submit_events.hpp"
#include "util/wait_line.hpp"
#include "util/clock.hpp"
#include "util/log_limiter.hpp"

namespace submitd::submit {

struct StorageSettings {
  std::uint64_t min_free_bytes = 0;  // below it nothing new is claimed; 0: only refused writes count
  std::chrono::milliseconds probe_interval{5000};  // how often to look whether space is back
};

class StorageWatch {
 public:
  // `space_back` is notified when a spell ends, so work parked for space goes on.
  StorageWatch(const spool::SpoolPaths& paths, StorageSettings settings, journal::Journal& journal,
               const Clock& clock, SubmitEvents& events, WaitLine& space_back);

  // A write failed; if for lack of space, a spell starts (logged once). Returns whether it
  // was for lack of space.
  bool note_write_failure(std::string_view what, const std::exception& e);
  // Before taking new work: false while the disk is full (probing now and then whether space
  // is back), or when free space has fallen under the reserve.
  bool allows_new_work();
  bool full() const { return guard_.full(); }
  const std::string& reason() const { return guard_.reason(); }

 private:
  void spell_started();

  const spool::SpoolPaths& paths_;
  StorageSettings settings_;
  journal::Journal& journal_;
  const Clock& clock_;
  SubmitEvents& events_;
  WaitLine& space_back_;
  spool::StorageGuard guard_;
  MonoTime last_check_{};
  log::Limiter error_log_{std::chrono::seconds(60)};
};

}  // namespace submitd::submit
