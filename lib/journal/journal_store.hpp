// Role: the journal's durable records, as synchronous operations on one SQLite file (WAL):
// for every accepted request its jobId and how far it got (accepted, created, configured,
// finished with its outcome line), and the requestId index that makes a requestId an
// idempotency key for the retention window. The Journal runs these on its own thread and
// commits many of them in one transaction (group commit); tests call them directly.
//
// Trusts nothing about the file it opens beyond SQLite's own checks: the format version is
// read first, and a file written by a newer daemon is refused, never misread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "journal/sqlite_handle.hpp"

namespace submitd::journal {

// 1: requests + requestId index. 2: the index keeps each given requestId's outcome.
// 3: followed jobs (job following) and their final state. 4: step `uploaded` (a daemon that
// reads 3 must not meet it). 5: a followed job's results still downloading. Older formats are
// upgraded in place when opened; newer ones are refused.
inline constexpr int kJournalFormatVersion = 5;

// How far a request got. Numbers are stored; never renumber. `uploaded` came later: in the
// order of a request's way it lies between created and configured (step_rank).
enum class Step : int { accepted = 0, created = 1, configured = 2, finished = 3, uploaded = 4 };
// The order of the steps along a request's way: progress only ever moves a request on.
int step_rank(Step step);

struct Accept {
  std::string claim_id;
  std::uint64_t line = 0;
  std::string request_id;
  bool request_id_given = false;  // only a requestId from the request is an idempotency key
  std::string job_id;
  std::int64_t accepted_ms = 0;  // Unix ms
};

struct AcceptVerdict {
  enum class Kind {
    fresh,      // newly accepted: nothing was sent to the API for it yet
    resumed,    // accepted before (a restart): `step` says how far it got
    finished,   // accepted and finished before: `outcome_line` is its outcome
    duplicate,  // its requestId was accepted earlier for another job (`earlier_job_id`)
  } kind = Kind::fresh;
  Step step = Step::accepted;
  std::string outcome_line;
  int status = 0;  // for finished: the stored SubmitStatus as int
  std::string earlier_job_id;
};

struct Finish {
  std::string claim_id;
  std::uint64_t line = 0;
  std::string outcome_line;
  int status = 0;  // SubmitStatus as int
  // When set, this requestId is released from the index (a request that failed before it
  // could have run may be fixed and dropped again under the same requestId).
  std::optional<std::string> release_request_id;
  std::string job_id;
  // When set (a given requestId that stays claimed), the index keeps this outcome for lookups.
  std::optional<std::string> keep_for_request_id;
  // Job following: the job is followed until it ends or this time (Unix ms) passes.
  std::optional<std::int64_t> follow_deadline_ms;
};

// A followed job (job following), until its file is placed.
struct FollowedRow {
  std::string job_id;
  std::string claim_id;
  std::uint64_t line = 0;
  std::int64_t deadline_ms = 0;
  std::string final_json;  // empty while it has not ended
  std::string request_id;  // the given requestId; empty when the request had none
  // Ended, but its results are still being downloaded (final_json is the end without them).
  bool downloads_pending = false;
};

// A followed JetStream message whose job ended: its outcome record and its end (JetStream
// following publishes the record again with "final").
struct EndedMessage {
  std::uint64_t line = 0;  // its stream sequence
  std::string job_id;
  std::string outcome_line;  // empty when its request row is gone
  std::string final_json;
};

class JournalStore {
 public:
  struct Options {
    std::filesystem::path file;
    bool durable = true;  // false: no fsync at all (benchmarks of what durability costs)
    std::chrono::milliseconds request_id_retention{std::chrono::hours(24 * 7)};
    bool read_only = false;  // a second connection for lookups on another thread
    // Group commit: a commit follows the previous one no sooner than this, so the records of
    // many requests share one transaction and one fsync. Adds at most this much latency.
    std::chrono::microseconds group_commit_window{20000};
  };

  // Opens or creates the journal. Throws JournalError naming the file on any trouble,
  // including a format version this daemon does not know.
  explicit JournalStore(const Options& options);

  // True when nothing was known from before this start: there was no journal file, or one
  // without a schema (emptied, its WAL lost, restored without its -wal).
  bool created() const { return created_; }

  void begin();
  void commit();
  void rollback();

  AcceptVerdict accept(const Accept& a);
  void progress(const std::string& claim_id, std::uint64_t line, Step step);
  void finish(const Finish& f);
  // Job following: the job's end (a JSON object, the outcome's "final"). Also merged into
  // the requestId index's outcome, so a lookup by requestId shows it.
  // With `downloads_pending` the end is kept for its downloads (results.download_dir) and not
  // yet merged: finish_downloads() gives the final one.
  void set_final(const std::string& job_id, const std::string& final_json, bool downloads_pending = false);
  void finish_downloads(const std::string& job_id, const std::string& final_json);
  // At most `limit` of the ended jobs whose results are still to be downloaded.
  std::vector<FollowedRow> pending_downloads(std::size_t limit);
  std::vector<FollowedRow> followed_of_claim(const std::string& claim_id);
  // The jobs of one file's requests that finished with `status` (a SubmitStatus as int).
  std::vector<std::string> job_ids_of_claim(const std::string& claim_id, int status);
  // At most `limit` of the followed jobs not yet ended.
  std::vector<FollowedRow> unfinished_followed(std::size_t limit);
  // Deletes the records of a file that has been placed in done/ or failed/ (compaction).
  void forget_claim(const std::string& claim_id);
  // Deletes every claim's records except these (at start: files no longer in active/).
  std::size_t forget_claims_except(const std::vector<std::string>& keep);
  // A JetStream message's records (claim: its stream) go as soon as they are not needed, so
  // the journal does not grow with the stream (journal_messages.cpp). forget_line: one
  // message's request row and followed job; forget_unfollowed: the request rows of `line`
  // (nullopt: of every line) whose job is not followed.
  void forget_line(const std::string& claim_id, std::uint64_t line);
  void forget_unfollowed(const std::string& claim_id, std::optional<std::uint64_t> line);
  // At most `limit` followed messages of a claim whose jobs ended (results downloaded).
  std::vector<EndedMessage> ended_messages(const std::string& claim_id, std::size_t limit);
  // Drops requestIds accepted before `cutoff_ms` from the index; returns how many.
  std::size_t prune_request_ids(std::int64_t cutoff_ms);

  struct Row {
    Step step = Step::accepted;
    std::string job_id;
    std::string outcome_line;
    int status = 0;
  };
  std::optional<Row> row(const std::string& claim_id, std::uint64_t line);

  // What is known of a requestId: its job and, once finished, its outcome.
  struct Lookup {
    std::string job_id;
    bool finished = false;
    int status = 0;
    std::string outcome_line;
    std::string claim_id;  // of the file it is in, while that file is worked
  };
  std::optional<Lookup> lookup(const std::string& request_id);
  std::size_t request_rows();
  std::size_t request_id_entries();

 private:
  Options options_;
  // Claims that have rows: an acceptance for any other claim needs no look-up of its row
  // (one SELECT less per request). Filled at open, kept in step by accept and forget_claim.
  std::unordered_set<std::string> claims_with_rows_;
  bool created_;  // before db_: decided before the open creates the file
  Database db_;
  std::vector<FollowedRow> followed_where(Statement& query);
  void prepare_message_statements();
  Statement forget_line_, forget_followed_line_, forget_unfollowed_line_, forget_unfollowed_, ended_messages_;
  Statement jobs_of_claim_;
  Statement insert_followed_, set_final_, merge_final_, forget_followed_, followed_of_claim_, unfinished_followed_;
  Statement set_pending_final_, finish_downloads_, pending_downloads_;
  Statement find_row_, insert_row_, find_request_id_, upsert_request_id_, set_step_, finish_row_,
      release_request_id_, keep_outcome_, forget_claim_, prune_, lookup_kept_, lookup_in_work_;
};

}  // namespace submitd::journal
