// Role: working claimed files. FileRunners is the Intake the sources hand claimed inputs to:
// it bounds the files worked at once and starts one FileRunner per file. A FileRunner reads
// its file (a whole .json, or a .jsonl streamed line by line), refuses bad requests with their
// reason, admits good ones to the scheduler while bounding what is held in memory, writes the
// outcomes in input order through a bounded window of slots it owns, and at the end places
// the file in done/ or failed/, hands it to the follower, or leaves it in active/.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <deque>
#include <map>
#include <functional>
#include <memory>
#include <set>

#include "journal/journal.hpp"
#include "spool/finished_file.hpp"
#include "spool/queue_report.hpp"
#include "spool/request_parser.hpp"
#include "spool/spool_paths.hpp"
#include "submit/file_controls.hpp"
#include "submit/placer.hpp"
#include "spool/input_file.hpp"
#include "submit/request_source.hpp"
#include "submit/scheduler.hpp"
#include "submit/storage_watch.hpp"
#include "util/clock.hpp"
#include "util/log_limiter.hpp"
#include "util/unique_fd.hpp"
#include "util/uuid.hpp"

namespace submitd::submit {

struct FileRunnerSettings {
  std::uint64_t max_request_bytes = 1024 * 1024;
  std::size_t max_active_files = 64;  // files being read at once (see files_room)
  std::size_t files_ceiling = 64;     // files worked at once, read or not
  std::size_t reorder_window = 4096;  // per file: requests started but not yet written out
  bool following = false;             // files whose jobs ran wait for their ends (the follower)
  spool::InputFileRules input_rules;  // where a request's inputFile may be (upload.*)
};

class FileRunner;

class FileRunners : public Intake {
 public:
  using OnHold = std::function<void(spool::ClaimedFile)>;
  // `controls`: a held file reads no further until release; a placed file's control ends.
  FileRunners(boost::asio::any_io_executor executor, const spool::SpoolPaths& paths, FileRunnerSettings settings,
              Scheduler& scheduler, journal::Journal& journal, StorageWatch& storage, FileControls& controls,
              Uuid job_namespace, const Clock& clock, SubmitEvents& events, WaitLine& work_changed);
  ~FileRunners() override;

  std::size_t room() const override;
  void start(spool::ClaimedFile input) override;
  // Where a file whose jobs still run goes (the follower); set once before work starts.
  void on_hold(OnHold hold) { hold_ = std::move(hold); }
  // Readers stop; unfinished files stay in active/ for the next start.
  void stop() { stopping_ = true; }

  std::size_t working() const override { return active_files_; }
  std::optional<WallTime> oldest_drop() const override;
  // The files being worked, with their requests by state (queue inspection).
  void report(std::vector<spool::QueuedFile>& out) const;

 private:
  friend class FileRunner;
  boost::asio::any_io_executor executor_;
  const spool::SpoolPaths& paths_;
  FileRunnerSettings settings_;
  Scheduler& scheduler_;
  journal::Journal& journal_;
  StorageWatch& storage_;
  FileControls& controls_;
  Uuid job_namespace_;
  const Clock& clock_;
  SubmitEvents& events_;
  WaitLine& work_changed_;  // a file or request finished, or room was made
  OnHold hold_;
  // One parser for every file: its buffers are reused. Safe to share on the single thread:
  // a parse never spans a co_await and returns owned data.
  std::unique_ptr<spool::RequestParser> parser_;
  // Last, so it is destroyed first: it places what is queued before the rest goes.
  std::unique_ptr<Placer> placer_;
  bool stopping_ = false;
  std::size_t active_files_ = 0;
  std::size_t reading_files_ = 0;  // of the active files, those not yet read to their end
  std::multiset<WallTime> dropped_at_;  // per file being worked: when it was dropped
  std::map<std::string, const FileRunner*> by_claim_;  // the files being worked
  log::Limiter request_warning_log_{std::chrono::seconds(10)};
  log::Limiter changed_input_log_{std::chrono::seconds(10)};
};

// A request's place in its file's outcome order.
struct Slot {
  spool::OutcomeRecord record;
  std::string outcome_line;  // the journaled outcome line; used as is when set
  // Where the request's text is in the input, for the retry file if it fails: read back then,
  // so memory does not hold the text of every request in flight. Length 0: none.
  std::uint64_t text_offset = 0;
  std::uint64_t text_length = 0;
  bool done = false;
  bool interrupted = false;
};

class FileRunner : public std::enable_shared_from_this<FileRunner> {
 public:
  FileRunner(FileRunners& runners, spool::ClaimedFile file);
  boost::asio::awaitable<void> run();
  // Its file and how far it got (the requests' states are the scheduler's to add).
  spool::QueuedFile progress() const;

 private:
  boost::asio::awaitable<void> read_requests();
  void reading_done();  // gives back its reading place (see files_room)
  void reject(std::uint64_t line, std::uint64_t offset, std::uint64_t length, std::string message);
  boost::asio::awaitable<void> admit(spool::JobRequest request, std::uint64_t offset, std::uint64_t length);
  void request_ended(Slot& slot, RequestEnd end);
  // Writes out the done slots at the front of the window, in input order.
  void write_out();
  void write_out_or_note();
  // Reading the input or writing its outcome failed: for lack of space the file is worked
  // again once space is back; otherwise it stays in active/ for the next start.
  void note_failure(const std::exception& e, std::string_view doing);
  std::string read_input(std::uint64_t offset, std::uint64_t length) const;
  // A file that changed after it was read fails, loudly (see spool::changed_since_read).
  void fail_if_changed_since_read();
  boost::asio::awaitable<void> finish();
  boost::asio::awaitable<void> place();
  // The outcome could not be written for lack of space: once space is back the file is
  // worked again from its start (the journal knows every request's fate: nothing is sent twice).
  boost::asio::awaitable<void> again_when_space_is_back();

  FileRunners& runners_;
  spool::ClaimedFile file_;
  std::unique_ptr<spool::FinishedFileWriter> writer_;
  UniqueFd input_;  // the claimed file, open while it is worked
  std::deque<Slot> window_;  // references stay valid as slots are added and written out
  WallTime accepted_wall_;
  MonoTime accepted_mono_;
  std::size_t submitted_ = 0, failed_ = 0, running_ = 0;
  std::size_t jobs_run_ = 0;  // outcomes with status submitted: jobs that may be followed
  std::size_t duplicates_ = 0;  // of submitted_: outcomes with status duplicate
  bool interrupted_ = false;
  bool storage_failed_ = false;  // an outcome write failed for lack of space
  std::optional<std::uint64_t> bytes_read_;  // set once the whole input was read
  std::uint64_t input_bytes_ = 0, read_so_far_ = 0;  // for the queue report
};

}  // namespace submitd::submit
