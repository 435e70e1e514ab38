// Role: result downloads' Asio side (decisions in download_plan.hpp, files in
// spool/result_file.hpp). When a followed job completes with results, each is fetched from
// its link through the storage pools into results.download_dir/<requestId>/<name>, at most
// results.max_concurrent at once and within results.max_bytes_per_second together, each
// retried with backoff while its trouble lasts less than an hour. Once every result of the job is on disk
// or finally failed, the job's final end (localPath and bytes, or downloadError) goes to the
// journal and its file may be placed. Jobs beyond the ones worked at once wait in the
// journal (bounded memory); a restart resumes the jobs left downloading. The fsync and rename
// of a finished file run on a thread of their own: the I/O thread never waits on the disk.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <functional>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "api/storage_client.hpp"
#include "journal/journal.hpp"
#include "spool/outcome.hpp"
#include "spool/result_file.hpp"
#include "submit/download_plan.hpp"
#include "submit/fifo_semaphore.hpp"
#include "submit/submit_events.hpp"
#include "util/clock.hpp"
#include "util/wait_line.hpp"

namespace submitd::submit {

struct DownloadJob {
  std::string job_id;
  std::string claim_id;
  std::string request_id;
  spool::JobEnd end;
};

class ResultDownloader {
 public:
  // `following`: downloads need it (the config refuses download_dir without it).
  ResultDownloader(boost::asio::any_io_executor executor, DownloadSettings settings, bool following,
                   journal::Journal& journal, const Clock& clock, SubmitEvents& events);
  ~ResultDownloader();

  bool enabled() const { return enabled_; }
  void set_storage(api::Storage& storage) { storage_ = &storage; }
  // Told the claim of each job whose downloads are over and recorded (queued in the journal).
  void on_done(std::function<void(const std::string& claim_id)> done) { done_ = std::move(done); }
  // Fetches the results of a job whose end the journal holds as downloading.
  void start(DownloadJob job);
  // The jobs left downloading by an earlier run; with downloads now off, their ends are
  // recorded with the reason instead.
  boost::asio::awaitable<void> resume();
  void stop();
  std::size_t jobs() const { return active_.size(); }

 private:
  boost::asio::awaitable<void> download_job(DownloadJob job);
  // False when stopped before the result's fate was known (a restart fetches it again).
  boost::asio::awaitable<bool> fetch(const DownloadJob& job, const PlannedDownload& planned, spool::ResultLink& result);
  boost::asio::awaitable<AttemptVerdict> attempt(const api::StorageUrl& url, spool::ResultFile& file);
  boost::asio::awaitable<bool> commit(spool::ResultFile& file);
  boost::asio::awaitable<void> reload();
  DownloadJob job_of(const journal::FollowedRow& row, spool::JobEnd end) const;

  boost::asio::any_io_executor executor_;
  DownloadSettings settings_;
  bool enabled_;
  journal::Journal& journal_;
  const Clock& clock_;
  SubmitEvents& events_;
  api::Storage* storage_ = nullptr;
  std::function<void(const std::string&)> done_;
  std::set<std::string> active_;  // job ids being downloaded
  std::size_t capacity_;          // jobs worked at once; the rest wait in the journal
  bool overflowed_ = false;
  bool stopping_ = false;
  FifoSemaphore places_;
  Bandwidth bandwidth_;
  std::size_t in_flight_ = 0;
  WaitLine pauses_;     // backoff waits, cut short by stop()
  WaitLine job_ended_;  // jobs waiting for their results: woken as each job's last one ends
  std::mt19937_64 rng_{std::random_device{}()};
  std::optional<boost::asio::thread_pool> disk_;  // only when downloads are on
};

}  // namespace submitd::submit
