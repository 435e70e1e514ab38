// Role: job following's plain decisions (see follow_book.hpp).
#include "submit/follow_book.hpp"

#include <simdjson.h>

#include <charconv>

namespace submitd::submit {

bool FollowBook::add(FollowedJob job) {
  if (jobs_.count(job.job_id)) return true;
  if (jobs_.size() >= capacity_) {
    overflowed_ = true;
    return false;
  }
  ++per_claim_[job.claim_id];
  std::string id = job.job_id;
  jobs_.emplace(std::move(id), std::move(job));
  return true;
}

std::optional<FollowedJob> FollowBook::remove(const std::string& job_id) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return std::nullopt;
  FollowedJob job = std::move(it->second);
  jobs_.erase(it);
  auto c = per_claim_.find(job.claim_id);
  if (c != per_claim_.end() && --c->second == 0) per_claim_.erase(c);
  return job;
}

void FollowBook::saw_state(const std::string& job_id, std::string state) {
  auto it = jobs_.find(job_id);
  if (it != jobs_.end() && !state.empty()) it->second.last_state = std::move(state);
}

std::size_t FollowBook::followed_in_claim(const std::string& claim_id) const {
  auto it = per_claim_.find(claim_id);
  return it == per_claim_.end() ? 0 : it->second;
}

std::vector<std::string> FollowBook::past_give_up(WallTime now) const {
  std::vector<std::string> out;
  for (const auto& [id, job] : jobs_) {
    if (now >= job.give_up_at) out.push_back(id);
  }
  return out;
}

std::vector<std::string> FollowBook::job_ids() const {
  std::vector<std::string> out;
  out.reserve(jobs_.size());
  for (const auto& [id, job] : jobs_) out.push_back(id);
  return out;
}

bool list_is_cheaper(std::size_t followed, std::uint64_t list_total, std::size_t page_size) {
  if (page_size == 0) return false;
  const std::uint64_t pages = (list_total + page_size - 1) / page_size;
  const std::uint64_t more_pages = pages > 0 ? pages - 1 : 0;
  return more_pages < followed;
}

std::optional<std::int64_t> job_timeout_seconds(std::string_view config_json) {
  if (config_json.empty()) return std::nullopt;
  simdjson::dom::parser parser;
  simdjson::padded_string padded(config_json);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) || !root.is_object()) return std::nullopt;
  auto v = root["jobTimeout"];
  std::int64_t n = 0;
  if (v.is_int64()) {
    n = v.get_int64().value_unsafe();
  } else if (v.is_uint64()) {
    return std::nullopt;  // beyond int64: not a usable timeout
  } else if (v.is_double()) {
    double d = v.get_double().value_unsafe();
    if (!(d >= 0 && d < 1e15)) return std::nullopt;
    n = static_cast<std::int64_t>(d);
  } else if (v.is_string()) {
    std::string_view text = v.get_string().value_unsafe();
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc{} || p != text.data() + text.size()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (n <= 0 || n > 10LL * 365 * 86400) return std::nullopt;
  return n;
}

spool::JobEnd job_end(const api::JobSeen& job, const std::vector<api::JobResult>& results) {
  spool::JobEnd end{job.state, job.error_message, job.ended_at, job.duration_s, {}};
  end.results.reserve(results.size());
  for (const auto& r : results) end.results.push_back({r.name, r.link});
  return end;
}

std::string_view ended_label(std::string_view api_state) {
  if (api_state == "JOB_STATE_COMPLETE") return "complete";
  if (api_state == "JOB_STATE_FAILED") return "failed";
  if (api_state == "JOB_STATE_ABORTED" || api_state == "JOB_STATE_CANCELLED") return "aborted";
  return "other";
}

}  // namespace submitd::submit
