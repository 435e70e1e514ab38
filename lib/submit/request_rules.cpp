// Role: the plain end-of-request and end-of-file decisions, and the file room (see request_rules.hpp).
#include "submit/request_rules.hpp"

#include <algorithm>

#include "submit/follow_book.hpp"

namespace submitd::submit {

RequestIdFate request_id_fate(bool request_id_given, spool::SubmitStatus status,
                              const std::optional<spool::OutcomeError>& error) {
  if (!request_id_given || status == spool::SubmitStatus::duplicate) return RequestIdFate::none;
  if (status == spool::SubmitStatus::failed && error && error->stage != "run") return RequestIdFate::release;
  return RequestIdFate::keep;
}

WallTime follow_give_up_at(WallTime submitted_at, std::string_view config_json,
                           std::chrono::seconds default_timeout, std::chrono::seconds margin) {
  const auto timeout = std::chrono::seconds(job_timeout_seconds(config_json).value_or(default_timeout.count()));
  return submitted_at + timeout + margin;
}

FileEnd file_end(bool interrupted, std::size_t unwritten_outcomes, bool following, std::size_t jobs_run) {
  if (interrupted || unwritten_outcomes > 0) return FileEnd::stays_in_active;
  if (following && jobs_run > 0) return FileEnd::hold_for_jobs;
  return FileEnd::place;
}

std::optional<std::map<std::uint64_t, std::string>> ends_if_all_ended(
    const std::vector<journal::FollowedRow>& rows, bool following) {
  std::map<std::uint64_t, std::string> ends;
  for (const auto& row : rows) {
    if (row.final_json.empty() || row.downloads_pending) {
      if (following) return std::nullopt;
      if (row.final_json.empty()) continue;
    }
    ends.emplace(row.line, row.final_json);
  }
  return ends;
}

std::size_t files_room(const FileRoom& now) {
  const std::size_t ceiling = std::max(now.files_ceiling, now.max_active_files);
  const std::size_t reading = now.reading_files < now.max_active_files ? now.max_active_files - now.reading_files : 0;
  const std::size_t below_ceiling = now.active_files < ceiling ? ceiling - now.active_files : 0;
  const std::size_t room = std::min(reading, below_ceiling);
  const std::size_t read_to_end = now.active_files - std::min(now.reading_files, now.active_files);
  return room < now.claim_batch && read_to_end >= now.claim_batch ? 0 : room;
}

}  // namespace submitd::submit
