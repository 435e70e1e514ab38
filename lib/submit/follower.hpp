// Role: job following's Asio side (decisions in follow_book.hpp and request_rules.hpp): the
// poll loop (one list page first, then the rest of the list or one read per followed job,
// whichever costs fewer requests), each ended job's results and final record into the
// journal, and held files: a file whose submissions ended waits in active/ until all its jobs
// have ended, then its outcome file is rewritten with "final" on each submitted line (temp,
// fsync, rename) and placed with its input in done/ or failed/. Reads share the pool, token
// and retry classification; a read that fails is simply tried again next round. A completed
// job with results to download (results.download_dir) keeps its file waiting until the
// ResultDownloader has them on disk or has given up on them.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/api_client.hpp"
#include "journal/journal.hpp"
#include "spool/claim.hpp"
#include "spool/queue_report.hpp"
#include "spool/spool_paths.hpp"
#include "submit/follow_book.hpp"
#include "submit/follow_settings.hpp"
#include "submit/job_submission.hpp"
#include "submit/result_downloader.hpp"
#include "submit/storage_watch.hpp"
#include "submit/submit_events.hpp"
#include "util/wait_line.hpp"

namespace submitd::submit {

class Follower {
 public:
  Follower(boost::asio::any_io_executor executor, const spool::SpoolPaths& paths, FollowSettings settings,
           api::ApiClient& api, journal::Journal& journal, StorageWatch& storage, JobPaths job_paths,
           const Clock& clock, SubmitEvents& events);

  // Polls until stop() (only when following is on); a restart goes on where it was.
  boost::asio::awaitable<void> run();
  void stop();
  // A submitted job to follow until it ends or its give-up time passes.
  void follow(FollowedJob job);
  // A file whose submissions ended: placed once none of its jobs is still running (at once
  // when following is off: a restart after it was turned off).
  void hold_file(spool::ClaimedFile file);

  // Claims that are not files (a JetStream stream's messages): a job of one that ends is
  // handed to `taker` (true: taken) instead of a file placement.
  void on_other_claim(std::function<bool(const std::string& claim_id)> taker) { other_claim_ = std::move(taker); }

  bool enabled() const { return settings_.enabled; }
  // Where results are downloaded from (the storage pools); without it none are.
  void set_storage(api::Storage& storage) { downloads_.set_storage(storage); }
  std::size_t downloading_jobs() const { return downloads_.jobs(); }
  std::size_t followed_jobs() const { return book_.size(); }
  std::size_t files_waiting() const { return waiting_files_.size(); }
  // The files waiting for their jobs (queue inspection).
  void report(std::vector<spool::QueuedFile>& out) const;

 private:
  void reload_from_journal();
  boost::asio::awaitable<void> poll_round();
  boost::asio::awaitable<void> read_singly(std::vector<std::string> ids, std::vector<api::JobSeen>& ended);
  boost::asio::awaitable<std::optional<api::JobListPage>> read_list_page(std::uint64_t offset);
  // The job ended: its final record into the journal, out of the book. False when its
  // results could not be read now (it stays followed; next round).
  boost::asio::awaitable<bool> end_followed(const api::JobSeen& job);
  void record_end(const std::string& job_id, const std::string& final, std::string_view label,
                  std::optional<double> duration_s, bool downloading = false);
  void give_up_overdue();
  boost::asio::awaitable<void> place_if_all_ended(std::string claim_id);
  void spawn_placement(std::string claim_id);
  // The held outcome rewritten with the recorded ends, and the file placed.
  void place(const spool::ClaimedFile& file, const std::map<std::uint64_t, std::string>& ends);

  boost::asio::any_io_executor executor_;
  const spool::SpoolPaths& paths_;
  FollowSettings settings_;
  api::ApiClient& api_;
  journal::Journal& journal_;
  StorageWatch& storage_;
  JobPaths job_paths_;
  const Clock& clock_;
  SubmitEvents& events_;
  bool stopping_ = false;
  FollowBook book_;
  std::map<std::string, spool::ClaimedFile> waiting_files_;  // by claim id: files waiting for their jobs
  // Waiting files being placed now. Shared with each placement's frame: a frame suspended at
  // the daemon's end is destroyed with the io_context, after the Follower, and unmarks then.
  std::shared_ptr<std::set<std::string>> placing_ = std::make_shared<std::set<std::string>>();
  WaitLine wakeup_;
  std::function<bool(const std::string&)> other_claim_;
  ResultDownloader downloads_;
};

}  // namespace submitd::submit
