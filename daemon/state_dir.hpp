// Role: the daemon's own state directory: the single-instance lock (one daemon per spool) and
// the per-installation namespace UUID from which every jobId is derived.
#pragma once

#include <filesystem>
#include <string>

#include "util/uuid.hpp"

namespace submitd {

// Holds an exclusive flock on <state>/lock for the life of the object; the lock dies with the
// process (also on SIGKILL), so there is no stale-lock cleanup. Throws std::runtime_error with
// a clear message when another daemon holds it.
class InstanceLock {
 public:
  explicit InstanceLock(const std::filesystem::path& state_dir);
  ~InstanceLock();
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

 private:
  int fd_ = -1;
};

// Reads <state>/namespace-uuid, creating it durably on first start.
Uuid load_or_create_job_namespace(const std::filesystem::path& state_dir);

}  // namespace submitd
