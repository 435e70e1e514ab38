// Role: what makes a daemon the only one on its spool and its state: the single-instance locks
// (one in the state directory, one in the spool, so two daemons can share neither), and the
// per-installation namespace UUID from which every jobId is derived.
#pragma once

#include <filesystem>
#include <string>

#include "spool/spool_paths.hpp"
#include "util/uuid.hpp"

namespace submitd {

// Holds an exclusive flock on `lock_file` (created if missing) for the life of the object; the
// lock dies with the process (also on SIGKILL), so there is no stale-lock cleanup. Throws
// std::runtime_error with a clear message when another daemon holds it.
class InstanceLock {
 public:
  explicit InstanceLock(const std::filesystem::path& lock_file);
  ~InstanceLock();
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

 private:
  int fd_ = -1;
};

// Whether a running daemon holds `lock_file` (false when it does not exist). Takes a shared
// lock for an instant: a daemon starting in that instant would be refused as a second one.
bool instance_lock_held(const std::filesystem::path& lock_file);

// The two locks a daemon holds: <state>/lock and <spool>/.bytenite-submitd.lock.
std::filesystem::path state_lock_file(const spool::SpoolPaths& paths);
std::filesystem::path spool_lock_file(const spool::SpoolPaths& paths);

// Reads <state>/namespace-uuid, creating it durably on first start. Refuses (std::runtime_error)
// to create it while active/ holds claimed files: their jobIds were derived from the lost one,
// so a new namespace would orphan their drafts and could run a job twice.
Uuid load_or_create_job_namespace(const spool::SpoolPaths& paths);

}  // namespace submitd
