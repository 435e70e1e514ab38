// Role: job following's decisions, as plain logic: which jobs are followed (bounded: the rest
// wait in the journal), how many of each file are still running, which are past their give-up
// time, whether a poll round reads the paginated job list or one job at a time, and what a
// job's end is in the spool's terms (spool::JobEnd) and in the metrics (a bounded state label).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/responses.hpp"
#include "spool/outcome.hpp"
#include "util/clock.hpp"

namespace submitd::submit {

struct FollowedJob {
  std::string job_id;
  std::string claim_id;
  std::uint64_t line = 0;
  WallTime give_up_at;     // the job's own jobTimeout plus follow.give_up_margin_s
  std::string last_state;  // as last read, for the give-up record
  std::string request_id;  // names its results' directory (downloads)
};

class FollowBook {
 public:
  explicit FollowBook(std::size_t capacity) : capacity_(capacity) {}

  // False when the book is full: the job is not lost (the journal has it) but waits there;
  // overflowed() then says the journal holds more than the book.
  bool add(FollowedJob job);
  bool contains(const std::string& job_id) const { return jobs_.count(job_id) != 0; }
  std::size_t size() const { return jobs_.size(); }
  std::size_t room() const { return capacity_ - std::min(capacity_, jobs_.size()); }
  bool overflowed() const { return overflowed_; }
  void clear_overflow() { overflowed_ = false; }
  // The journal may hold more than fits (a reload filled the book to the brim).
  void set_overflowed() { overflowed_ = true; }

  // The job ended (or was given up): out of the book. nullopt if it was not in it.
  std::optional<FollowedJob> remove(const std::string& job_id);
  void saw_state(const std::string& job_id, std::string state);
  // Jobs in the book of one file.
  std::size_t followed_in_claim(const std::string& claim_id) const;
  // Jobs past their give-up time.
  std::vector<std::string> past_give_up(WallTime now) const;
  std::vector<std::string> job_ids() const;

 private:
  std::size_t capacity_;
  bool overflowed_ = false;
  std::unordered_map<std::string, FollowedJob> jobs_;
  std::map<std::string, std::size_t> per_claim_;
};

// A round starts by reading the list's first page (it gives the total). Going on through
// the list costs ceil(total / page_size) - 1 more requests; reading each followed job costs
// one per job. The cheaper wins: the list for many followed jobs in a small account, single
// reads for a few jobs in an account with a long history.
bool list_is_cheaper(std::size_t followed, std::uint64_t list_total, std::size_t page_size);

// jobTimeout of a request's config (seconds, a number or a decimal string); nullopt when absent
// or unusable.
std::optional<std::int64_t> job_timeout_seconds(std::string_view config_json);

// A job's end as the API reported it, in the plain form spool::final_json writes.
spool::JobEnd job_end(const api::JobSeen& job, const std::vector<api::JobResult>& results);

// The bounded label for jobs_ended_total{state}: complete, failed, aborted, gave_up, other.
std::string_view ended_label(std::string_view api_state);

}  // namespace submitd::submit
