// Role: the plain decisions about a request's and a file's end, apart from any coroutine so
// unit tests reach them: what happens to a given requestId when its submission ends, until
// when a submitted job is followed, whether a worked file is placed, held for its jobs or
// left in active/, whether a held file's jobs have all ended, and how many more files may be
// claimed.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "journal/journal_store.hpp"
#include "spool/outcome.hpp"
#include "util/clock.hpp"

namespace submitd::submit {

// A requestId given by the producer is an idempotency key. It is released when the request
// failed before a run could have been sent (so the fixed request may be dropped again under
// the same id), kept with its outcome otherwise (a run was sent: the job may exist), and
// left alone for a duplicate (its record names the earlier job, whose entry must stay).
enum class RequestIdFate { none, release, keep };
RequestIdFate request_id_fate(bool request_id_given, spool::SubmitStatus status,
                              const std::optional<spool::OutcomeError>& error);

// When following gives up on a job: the request's own jobTimeout (config.jobTimeout, else
// `default_timeout`) plus `margin`, counted from `submitted_at`.
WallTime follow_give_up_at(WallTime submitted_at, std::string_view config_json,
                           std::chrono::seconds default_timeout, std::chrono::seconds margin);

// What becomes of a file once none of its requests is running.
enum class FileEnd {
  stays_in_active,  // interrupted (stop, an unreadable input): resumed at the next start
  hold_for_jobs,    // following: it waits in active/ until every job it ran has ended
  place,            // its outcome and input go to done/ or failed/ now
};
FileEnd file_end(bool interrupted, std::size_t unwritten_outcomes, bool following, std::size_t jobs_run);

// A held file may be placed once each of its followed jobs has an end recorded and its results
// downloaded (or finally failed to), or at once when following is off (a restart after it was
// turned off: nothing would end them; an end without its downloads is placed as it is). Returns
// the recorded ends by input line, or nullopt while a job is still running.
std::optional<std::map<std::uint64_t, std::string>> ends_if_all_ended(
    const std::vector<journal::FollowedRow>& rows, bool following);

// How many more files may be claimed now. At most `max_active_files` are still being read
// (their requests compete for admission, and a new drop waits for one of these places, not for
// a backlog to drain); a file read to its end only waits for its requests, so it no longer
// counts there: with one request per file the active-file cap would otherwise cap the requests
// in flight too, however many connections there are. `files_ceiling` bounds all files worked
// at once (each holds two descriptors). A claim round costs two directory fsyncs whatever
// its size, so while at least `claim_batch` files read to their end wait for their requests
// (the API has work), room is only given in batches of `claim_batch`: one-request files ending
// one by one would otherwise make a round, and two fsyncs, per file. (Files still being read
// do not wait for a batch: a new drop would wait behind them.)
struct FileRoom {
  std::size_t reading_files = 0;  // claimed and not yet read to their end
  std::size_t active_files = 0;   // every file being worked
  std::size_t max_active_files = 64;
  std::size_t files_ceiling = 64;  // at least max_active_files
  std::size_t claim_batch = 1;
};
std::size_t files_room(const FileRoom& now);

}  // namespace submitd::submit
