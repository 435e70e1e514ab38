// Role: job following's settings (follow.* keys): every submitted job is read until it ends.
#pragma once

#include <chrono>
#include <cstddef>

namespace submitd::submit {

struct FollowSettings {
  bool enabled = false;
  std::chrono::seconds poll_interval{30};
  std::size_t max_followed = 10000;                 // jobs in memory at once; the rest wait in the journal
  std::chrono::seconds give_up_margin{3600};        // past the job's own jobTimeout
  std::chrono::seconds default_job_timeout{86400};  // when a request gives none
  std::size_t page_size = 100;                      // list page size
  std::size_t parallel_reads = 16;                  // single-job reads in flight at once
};

}  // namespace submitd::submit
