// Role: the daemon's main loop over the spool. Finds work in incoming/ (an inotify watch is
// the hint, a periodic rescan the truth), claims files, parses their requests and runs each
// through a JobSubmission with a bounded number in flight, and writes the outcomes in input
// order before placing the file in done/ or failed/. Files left in active/ by an interrupted
// run are worked again first, with their original claim ids (so the same jobIds), and the
// journal says how far each of their requests got.
// Single-threaded: everything runs on one executor.
#pragma once

#include <map>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <set>

#include "api/api_client.hpp"
#include "journal/journal.hpp"
#include "spool/claim.hpp"
#include "spool/claim_order.hpp"
#include "spool/spool_paths.hpp"
#include "spool/storage_guard.hpp"
#include "submit/fifo_semaphore.hpp"
#include "submit/follow_book.hpp"
#include "submit/job_submission.hpp"
#include "submit/pacing.hpp"
#include "submit/submit_events.hpp"
#include "submit/wakeup.hpp"
#include "util/clock.hpp"
#include "util/log_limiter.hpp"
#include "util/uuid.hpp"

namespace submitd::spool {
class RequestParser;
}

namespace submitd::submit {

struct Slot;  // a request's place in its file's outcome order (file_work.hpp)

// Job following (follow.* keys): every submitted job is read until it ends.
struct FollowSettings {
  bool enabled = false;
  std::chrono::seconds poll_interval{30};
  std::size_t max_followed = 10000;                 // jobs in memory at once; the rest wait in the journal
  std::chrono::seconds give_up_margin{3600};        // past the job's own jobTimeout
  std::chrono::seconds default_job_timeout{86400};  // when a request gives none
  std::size_t page_size = 100;                      // list page size
  std::size_t parallel_reads = 16;                  // single-job reads in flight at once
};

struct SpoolServiceSettings {
  std::uint64_t max_request_bytes = 1024 * 1024;
  std::chrono::milliseconds rescan_interval{2000};
  std::size_t max_inflight = 256;       // requests at some API step at once, over all files
  std::size_t max_active_files = 64;    // files worked at once
  std::size_t reorder_window = 4096;    // per file: requests started but not yet written out
  // Requests accepted and not finished, counting those waiting to retry (which give their
  // in-flight place to others meanwhile). Bounds memory; 0 means 4 x max_inflight.
  std::size_t max_held = 0;
  SubmissionOptions submission;
  double rate_limit_per_second = 0;  // API calls per second over all requests; 0 = no limit
  std::chrono::hours request_id_retention{24 * 7};  // a given requestId is a key this long
  std::chrono::hours done_retention{24 * 7};        // done/ files older than this are deleted; 0: never
  double max_jobs_per_minute = 0;                   // runs sent per minute at most; 0: no cap
  RetryBudgetSettings retry_budget;
  // Full disk: free space kept for accepted work (below it nothing new is claimed), and how
  // often to look whether space is back once claiming stopped.
  std::uint64_t min_free_bytes = 0;
  std::chrono::milliseconds storage_probe_interval{5000};
  FollowSettings follow;
};

class SpoolService {
 public:
  SpoolService(boost::asio::any_io_executor executor, spool::SpoolPaths paths,
               SpoolServiceSettings settings, api::ApiClient& api, journal::Journal& journal,
               JobPaths job_paths, Uuid job_namespace, const Clock& clock, SubmitEvents& events);
  ~SpoolService();

  // Runs until stop() and then until in-flight work has settled (or been interrupted).
  boost::asio::awaitable<void> run();
  // Stop claiming; interrupt waiting retries. Files not finished stay in active/.
  void stop();
  // SIGHUP: new pacing (rate limit, retry budget, which start afresh) and retry timing (for
  // requests from now on).
  // Pause: intake goes on (files are claimed, requests validated and journaled) but nothing
  // is sent to the API until resume. Kept in <state>/paused, so it survives a restart.
  // Throws std::system_error when the state cannot be stored.
  void set_paused(bool paused);
  bool paused() const { return paused_; }

  // Wakes every request waiting to retry so it tries again now (e.g. after a new API key).
  void retry_waiting_now() { sleepers_.notify_all(); }
  void apply_live_settings(double rate_limit_per_second, RetryBudgetSettings budget, RetryTiming timing);

  std::size_t inflight() const { return held_; }
  // The backlog as last scanned: files waiting or being worked, and the oldest one's age.
  std::size_t backlog_files() const { return backlog_files_; }
  double oldest_waiting_age_s() const { return oldest_waiting_age_s_; }

  // A control-socket post: stores `content` (JSON Lines) durably as a claimed input named
  // `name` (written to tmp/, fsynced, renamed into active/ under a fresh claim id, active/
  // fsynced) and starts working it. Returns the claim id. Throws std::system_error.
  std::string accept_posted(const std::string& content, const std::string& name);
  std::size_t active_files() const { return active_files_; }
  bool watching() const { return watching_; }
  // Job following: jobs followed now (in memory), files waiting for their jobs' ends.
  std::size_t followed_jobs() const { return follow_book_.size(); }
  std::size_t held_files() const { return held_files_.size(); }
  // Abort by requestId (the control socket's POST /v1/jobs/{id}/abort); never waits.
  struct AbortResult {
    enum class Kind { unknown, requested, already_ended, not_followed } kind = Kind::unknown;
    std::string job_id;
    std::string message;
  };
  AbortResult abort(const std::string& request_id);
  // Claiming stopped for lack of disk space, and why (see spool/storage_guard.hpp).
  bool storage_full() const { return storage_.full(); }
  const std::string& storage_problem() const { return storage_.reason(); }

 private:
  struct FileWork;
  friend struct FileWork;
  void start_file(spool::ClaimedFile file);
  boost::asio::awaitable<void> work_file(spool::ClaimedFile file);
  boost::asio::awaitable<void> run_request(std::shared_ptr<spool::JobRequest> request,
                                           std::shared_ptr<Slot> slot, FileWork& w,
                                           bool request_id_given);
  boost::asio::awaitable<void> watch_incoming();
  // Runs the submission to its end; false when interrupted by stop(). `holding_inflight`
  // says whether the request holds an in-flight place when it returns.
  boost::asio::awaitable<bool> drive(JobSubmission& submission, const std::string& claim_id,
                                     std::uint64_t line, bool& holding_inflight);
  // Hourly (and at start): expired requestIds out of the journal, old files out of done/.
  boost::asio::awaitable<void> housekeeping_hourly();
  void claim_available();
  // Before claiming: false while the disk is full (probing now and then whether space is
  // back), or when free space fell under the reserve.
  bool storage_allows_claiming();
  // A write failed; if for lack of space, start a full-disk spell (logged once). Returns
  // whether it was for lack of space.
  bool note_write_failure(std::string_view what, const std::exception& e);
  void storage_spell_started();

  // Job following (follow_run.cpp).
  void follow(const std::string& job_id, const std::string& claim_id, std::uint64_t line,
              WallTime give_up_at);
  void hold_file(spool::ClaimedFile file);
  boost::asio::awaitable<void> follow_loop();
  boost::asio::awaitable<void> poll_round();
  boost::asio::awaitable<void> read_singly(std::vector<std::string> ids, std::vector<api::JobSeen>& ended);
  boost::asio::awaitable<std::optional<api::JobListPage>> read_list_page(std::uint64_t offset);
  // The job ended (or is given up on): its final record into the journal, out of the book.
  // False when its results could not be read now (it stays followed; next round).
  boost::asio::awaitable<bool> end_followed(const api::JobSeen& job);
  void record_end(const std::string& job_id, const std::string& final, std::string_view label,
                  std::optional<double> duration_s);
  void reload_followed_from_journal();
  // Places a held file once none of its jobs is still running (at once when following is
  // off: a restart after it was turned off); spawn_placement runs it on its own.
  boost::asio::awaitable<void> place_if_all_ended(std::string claim_id);
  void spawn_placement(std::string claim_id);
  boost::asio::awaitable<void> send_abort(std::string job_id);
  void report_backlog(const spool::IncomingScan& scan);

  boost::asio::any_io_executor executor_;
  spool::SpoolPaths paths_;
  SpoolServiceSettings settings_;
  api::ApiClient& api_;
  journal::Journal& journal_;
  JobPaths job_paths_;
  Uuid job_namespace_;
  const Clock& clock_;
  SubmitEvents& events_;
  std::mt19937_64 rng_;
  // One parser for every file: its buffers are reused instead of allocated per file. Safe to
  // share on the single thread: a parse never spans a co_await and returns owned data.
  std::unique_ptr<spool::RequestParser> parser_;

  Wakeup work_changed_;   // a file or request finished, or files arrived
  Wakeup sleepers_;  // wakes requests waiting to retry: at stop, or when their trouble may be fixed
  Wakeup resumed_;   // wakes requests held by a pause
  bool stopping_ = false;
  bool watching_ = false;
  // Places for requests making API calls now (not those waiting for the journal or to retry).
  FifoSemaphore inflight_places_;
  std::size_t held_ = 0;      // requests accepted and not finished (in flight or waiting)
  std::size_t max_held_;
  std::size_t active_files_ = 0;
  int inotify_fd_ = -1;
  // Repeated trouble is logged once per interval, with a count of what was left out.
  log::Limiter deferral_log_{std::chrono::seconds(10)};
  log::Limiter scan_error_log_{std::chrono::seconds(60)};
  log::Limiter claim_error_log_{std::chrono::seconds(60)};
  log::Limiter request_warning_log_{std::chrono::seconds(10)};
  MonoTime last_scan_{};
  std::size_t backlog_files_ = 0;
  bool paused_ = false;
  double oldest_waiting_age_s_ = 0;
  spool::ClaimOrder claim_order_;
  std::multiset<WallTime> waiting_since_;  // per active file: when it was dropped (mtime)
  CallPacer pacer_;  // rate limit, retry budget, and the cost cap submit.max_jobs_per_minute
  spool::StorageGuard storage_;
  MonoTime last_space_check_{};
  FollowBook follow_book_;
  std::map<std::string, spool::ClaimedFile> held_files_;  // by claim id
  std::set<std::string> placing_;                          // held files being placed now
  std::set<std::string> abort_requested_;                  // jobIds whose submission must stop
  Wakeup follow_wakeup_;
};

}  // namespace submitd::submit
