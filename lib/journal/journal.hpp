// Role: the daemon's durable journal with group commit. Coroutines on the daemon's single
// I/O thread hand it records; one journal thread applies everything queued so far in one
// SQLite transaction and one fsync, then completes the waiting callers on the I/O executor.
// So durability costs one fsync per batch, not per request, and the I/O thread never waits
// on the disk. Only `accept` is awaited (a request's first API call waits until its
// acceptance, and its requestId claim, are durable); progress and outcomes are queued
// without waiting, because losing them in a crash only makes recovery read the job again.
//
// When the disk refuses a commit (full, I/O error), the batch is kept and retried with a
// growing pause: nothing accepted is dropped, callers simply wait, and `stats()` says so.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "journal/journal_store.hpp"

namespace submitd::journal {

struct JournalStats {
  std::uint64_t commits = 0;     // transactions committed
  std::uint64_t records = 0;     // records in them
  bool stalled = false;          // the last commit failed and is being retried
  std::string last_error;        // why, when stalled
  bool disk_full = false;        // stalled because the disk (or quota) is full
};

class Journal {
 public:
  // Opens (or creates) the journal file and starts the journal thread. Throws JournalError.
  Journal(boost::asio::any_io_executor executor, const JournalStore::Options& options);
  ~Journal();  // commits what is queued, then stops the thread
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // True when nothing was known from before this start (no journal file, or one without a
  // schema): recovered requests must then read their jobs before sending anything.
  bool created() const { return created_; }

  // Records the acceptance of a request; completes once it is durable, with the verdict.
  boost::asio::awaitable<AcceptVerdict> accept(Accept a);
  void progress(std::string claim_id, std::uint64_t line, Step step);
  void finish(Finish f);
  void forget_claim(std::string claim_id);
  void forget_claims_except(std::vector<std::string> keep);
  void prune_request_ids(std::int64_t cutoff_ms);
  // A JetStream message's records (see JournalStore::forget_line): all of them, or the
  // request rows whose job is not followed (of one line, or of every line: nullopt).
  void forget_message(std::string claim_id, std::uint64_t line);
  void forget_unfollowed(std::string claim_id, std::optional<std::uint64_t> line);
  // Followed messages of a claim whose jobs ended (committed records, as below).
  std::vector<EndedMessage> ended_messages(const std::string& claim_id, std::size_t limit);
  // Job following: a followed job's end (queued, like progress). `downloads_pending`: its
  // results are still to be downloaded; finish_downloads() then records the final end.
  void set_final(std::string job_id, std::string final_json, bool downloads_pending = false);
  void finish_downloads(std::string job_id, std::string final_json);
  // Ended jobs whose results are still to be downloaded (committed records, as below).
  std::vector<FollowedRow> pending_downloads(std::size_t limit);
  // Followed jobs of one file / all not yet ended; committed records only (flush() first
  // to see what was just queued). Read through the lookup connection, on the caller's thread.
  std::vector<FollowedRow> followed_of_claim(const std::string& claim_id);
  std::vector<FollowedRow> unfinished_followed(std::size_t limit);
  // The jobs of one file that finished with `status` (committed records, as above).
  std::vector<std::string> job_ids_of_claim(const std::string& claim_id, int status);
  // Completes when everything queued before it is durable.
  boost::asio::awaitable<void> flush();

  JournalStats stats() const;
  // Called on the journal's thread when commits stop (true) and when they go on again (false).
  void on_stall_changed(std::function<void(bool stalled)> observer);

  // What is known of a requestId (see JournalStore::lookup). Reads on the caller's thread
  // through a connection of its own (WAL: never blocked by the journal thread's commits), so
  // it sees what is committed, not what is still queued.
  std::optional<JournalStore::Lookup> lookup(const std::string& request_id);

 private:
  struct Progress {
    std::string claim_id;
    std::uint64_t line;
    Step step;
  };
  struct ForgetClaim {
    std::string claim_id;
  };
  struct ForgetExcept {
    std::vector<std::string> keep;
  };
  struct ForgetMessage {
    std::string claim_id;
    std::optional<std::uint64_t> line;
    bool only_unfollowed = false;
  };
  struct Prune {
    std::int64_t cutoff_ms;
  };
  struct Flush {};
  struct SetFinal {
    std::string job_id;
    std::string final_json;
    enum class Kind { ended, downloading, downloaded } kind = Kind::ended;
  };
  struct Record {
    std::variant<Accept, Progress, Finish, ForgetClaim, ForgetExcept, ForgetMessage, Prune, Flush, SetFinal> what;
    std::function<void(AcceptVerdict)> on_durable;  // accept and flush only
  };

  void enqueue(Record r);
  void stall_changed(bool stalled);
  void run();
  void apply(std::deque<Record>& batch, std::vector<AcceptVerdict>& verdicts);

  boost::asio::any_io_executor executor_;
  std::unique_ptr<JournalStore> store_;
  JournalStore::Options options_;
  std::unique_ptr<JournalStore> reader_;  // the lookup connection, opened on first use
  JournalStore& reader();
  bool created_ = false;
  std::chrono::microseconds window_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Record> queue_;
  bool stopping_ = false;
  JournalStats stats_;
  std::function<void(bool)> stall_observer_;
  std::thread thread_;
};

}  // namespace submitd::journal
