// Role: result downloads' decisions (see download_plan.hpp).
#include "submit/download_plan.hpp"

#include <fmt/format.h>

#include <set>

#include "spool/result_path.hpp"
#include "submit/retry_policy.hpp"

namespace submitd::submit {

bool has_downloads(const spool::JobEnd& end) {
  return end.state == "JOB_STATE_COMPLETE" && !end.results.empty();
}

std::vector<PlannedDownload> plan_downloads(std::string_view request_id, std::string_view job_id, spool::JobEnd& end) {
  std::vector<PlannedDownload> planned;
  std::set<std::filesystem::path> taken;
  for (std::size_t i = 0; i < end.results.size(); ++i) {
    auto& result = end.results[i];
    auto path = spool::result_path(request_id, result.name);
    if (auto* refusal = std::get_if<std::string>(&path)) {
      result.download_error = "not downloaded: " + *refusal;
      continue;
    }
    auto& relative = std::get<std::filesystem::path>(path);
    if (!taken.insert(relative).second) {
      result.download_error = "not downloaded: an earlier result of this job has the same name";
      continue;
    }
    if (result.link.empty()) {
      result.download_error = "not downloaded: the API gave no link for it";
      continue;
    }
    planned.push_back({i, relative, fmt::format(".submitd-{}-{}.part", job_id, i)});
  }
  return planned;
}

AttemptVerdict judge_attempt(const Attempt& a) {
  using Kind = AttemptVerdict::Kind;
  if (a.too_large) return {Kind::fail, a.trouble};
  if (!a.trouble.empty()) return {Kind::retry, a.trouble};  // the disk: full now, perhaps not later
  const api::HttpResult& r = *a.result;
  if (!r.has_response()) return {Kind::retry, r.failure_detail};
  if (r.status >= 200 && r.status < 300) {
    if (a.content_length && a.written != *a.content_length) {
      return {Kind::retry, fmt::format("the body ended after {} of its {} bytes", a.written, *a.content_length)};
    }
    return {Kind::done, {}};
  }
  const std::string said = fmt::format("the storage answered HTTP {}", r.status);
  if (r.status == 408 || r.status == 429 || r.status >= 500) return {Kind::retry, said};
  // 403 (an expired or refused link), 404: asking again will not change the answer.
  return {Kind::fail, said};
}

bool gives_up(const AttemptVerdict& verdict, std::chrono::steady_clock::duration trying_for,
              std::chrono::seconds give_up_after) {
  return verdict.kind == AttemptVerdict::Kind::fail || trying_for >= give_up_after;
}

std::chrono::milliseconds download_backoff(int next_attempt, double jitter) {
  RetryTiming timing;
  timing.base = std::chrono::milliseconds(500);
  timing.cap = std::chrono::milliseconds(60000);
  return backoff_delay(timing, next_attempt - 1, jitter);
}

Bandwidth::Bandwidth(std::uint64_t bytes_per_second)
    // A burst of a quarter second's bytes (at least one read): smooth, yet not a read at a time.
    : limiter_(double(bytes_per_second), std::max(16.0 * 1024, double(bytes_per_second) / 4)) {}

}  // namespace submitd::submit
