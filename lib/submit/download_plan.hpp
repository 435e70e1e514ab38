// Role: the decisions of result downloads (issue 19), as plain logic: which results of an
// ended job are fetched and where (a name that cannot be used, or that another result of the
// job already takes, gets its reason at once), what one attempt's answer means (done, try
// again, or give up), how long to wait before the next attempt, and the bandwidth limit
// shared by all downloads (a token bucket of bytes, with injected time).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_call.hpp"
#include "spool/outcome.hpp"
#include "submit/follow_settings.hpp"
#include "submit/pacing.hpp"

namespace submitd::submit {

// One result to fetch: results[index] of the job's end.
struct PlannedDownload {
  std::size_t index = 0;
  std::filesystem::path relative;  // under download_dir: <requestId>/<name's segments>
  std::string temp_name;           // in the final directory; one per job and result
};

// Jobs whose end has results to fetch: complete ones with at least one result.
bool has_downloads(const spool::JobEnd& end);

// The results to fetch; each one that cannot be gets its downloadError in `end`.
std::vector<PlannedDownload> plan_downloads(std::string_view request_id, std::string_view job_id, spool::JobEnd& end);

// What one attempt came to. `trouble` is the sink's refusal ("" when none), `too_large` when
// it refused for results.max_bytes.
struct Attempt {
  const api::HttpResult* result = nullptr;
  std::string trouble;
  bool too_large = false;
  std::optional<std::uint64_t> content_length;  // as the answer gave it
  std::uint64_t written = 0;
};
struct AttemptVerdict {
  enum class Kind { done, retry, fail } kind = Kind::retry;
  std::string reason;  // for retry and fail: a person's words, never the URL
};
AttemptVerdict judge_attempt(const Attempt& attempt);

// After an attempt that did not succeed: whether its downloadError is final (a refusal, or
// trouble that has lasted `give_up_after` since the first attempt).
bool gives_up(const AttemptVerdict& verdict, std::chrono::steady_clock::duration trying_for,
              std::chrono::seconds give_up_after);

// The wait before attempt `next_attempt` (2 = the first retry); jitter in [0, 1).
std::chrono::milliseconds download_backoff(int next_attempt, double jitter);

// results.max_bytes_per_second for all downloads together: each read of up to `bytes` waits
// its turn. Unlimited at 0.
class Bandwidth {
 public:
  explicit Bandwidth(std::uint64_t bytes_per_second);
  std::chrono::nanoseconds before_read(std::size_t bytes, MonoTime now) { return limiter_.reserve(now, double(bytes)); }

 private:
  RateLimiter limiter_;
};

}  // namespace submitd::submit
