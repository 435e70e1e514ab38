// Role: job following's settings (follow.* keys): every submitted job is read until it ends;
// and the results.* keys: the results of completed jobs downloaded.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>

namespace submitd::submit {

// Downloads are on when following is and results.download_dir is set.
struct DownloadSettings {
  std::optional<std::filesystem::path> download_dir;
  std::size_t max_concurrent = 4;
  std::uint64_t max_bytes_per_second = 0;  // 0: no limit
  std::uint64_t max_bytes = 64ull << 30;
  // Transient trouble (resets, 5xx, a full disk) is retried for this long from a result's first
  // attempt; then its downloadError is final. Links live 48 h: an outage of minutes must not
  // lose a result, one of days cannot be waited out.
  std::chrono::seconds give_up_after{3600};
};

struct FollowSettings {
  bool enabled = false;
  std::chrono::seconds poll_interval{30};
  std::size_t max_followed = 10000;                 // jobs in memory at once; the rest wait in the journal
  std::chrono::seconds give_up_margin{3600};        // past the job's own jobTimeout
  std::chrono::seconds default_job_timeout{86400};  // when a request gives none
  std::size_t page_size = 100;                      // list page size
  std::size_t parallel_reads = 16;                  // single-job reads in flight at once
  DownloadSettings downloads;
};

}  // namespace submitd::submit
