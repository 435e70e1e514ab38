// Role: reads the success bodies the daemon needs from the API (the token grant, a job's
// state) defensively: any body, however malformed, gives a value or "nothing usable" and
// never throws. Error bodies are api_error's job. Both are fuzzed (tests/fuzz).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>
#include <optional>
#include <string>
#include <string_view>

namespace submitd::api {

// Parses {"token": "...", "expiresIn": "3600"} (expiresIn as a string or a number, > 0).
// Returns nullopt when the body is not such an object.
struct TokenGrant {
  std::string token;
  std::chrono::seconds lifetime{0};
};
std::optional<TokenGrant> parse_token_response(std::string_view body);

// Reads job.state from a GET /jobs/{id} body; empty when absent or not a string.
std::string job_state_from_body(std::string_view body);

// Reads job.dataSource.params.tempUrl from a datasource answer (where a "file" source's input
// is PUT); empty when absent, not a string, or longer than kMaxTempUrlBytes.
inline constexpr std::size_t kMaxTempUrlBytes = 8192;
std::string temp_url_from_body(std::string_view body);

// What following needs of one job (a GET /jobs/{id} body's "job", or one item of a list's
// "data"). A job has ended when endedAt is set (terminal states are not documented; see
// shared/docs/bytenite-api.md). Text fields are bounded (kMaxFieldBytes, cut on a UTF-8
// boundary) so a hostile body cannot make a huge outcome record.
inline constexpr std::size_t kMaxFieldBytes = 2048;
struct JobSeen {
  std::string id;
  std::string state;          // e.g. JOB_STATE_COMPLETE; empty when absent
  std::string error_message;  // empty when null or absent
  std::string started_at;     // RFC 3339 as the API wrote it; empty when null
  std::string ended_at;       // empty while the job runs
  std::optional<std::int64_t> duration_s;  // "duration" (a string or a number), when given
  bool ended() const { return !ended_at.empty(); }
};
std::optional<JobSeen> parse_job_response(std::string_view body);

struct JobListPage {
  std::vector<JobSeen> jobs;  // items without an id are skipped
  std::uint64_t total = 0;    // pagination.total (string or number); 0 when absent
  bool has_next = false;
};
std::optional<JobListPage> parse_job_list(std::string_view body);

// GET /jobs/{id}/results: {"results":[{"name","link"}]}. At most kMaxResults are kept.
inline constexpr std::size_t kMaxResults = 100;
struct JobResult {
  std::string name;
  std::string link;  // a download URL: written to the outcome, never logged
};
std::optional<std::vector<JobResult>> parse_job_results(std::string_view body);

}  // namespace submitd::api
