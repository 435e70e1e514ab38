// Role: the spool directory as a request source. Finds work in incoming/ (an inotify watch is
// the hint, a periodic rescan the truth), claims files in fair order (new drops are not queued
// behind a backlog) as the intake has room and the disk allows, makes the claims durable on its
// claim thread (so the I/O thread goes on while the directories are fsynced), and hands them
// over. Reports the backlog, and keeps house hourly: expired requestIds out of the
// journal, old files out of done/. Files left in active/ by an interrupted run are not its
// business: the engine resumes them at start.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "journal/journal.hpp"
#include "spool/claim.hpp"
#include "spool/claim_order.hpp"
#include "spool/spool_paths.hpp"
#include "submit/request_source.hpp"
#include "submit/storage_watch.hpp"
#include "submit/submit_events.hpp"
#include "util/batch_thread.hpp"
#include "util/clock.hpp"
#include "util/wait_line.hpp"
#include "util/log_limiter.hpp"

namespace submitd::submit {

struct SpoolSourceSettings {
  std::chrono::milliseconds rescan_interval{2000};
  std::chrono::hours request_id_retention{24 * 7};  // a given requestId is a key this long
  std::chrono::hours done_retention{24 * 7};        // done/ files older than this are deleted; 0: never
};

class SpoolSource : public RequestSource {
 public:
  SpoolSource(boost::asio::any_io_executor executor, const spool::SpoolPaths& paths, SpoolSourceSettings settings,
              Intake& intake, StorageWatch& storage, journal::Journal& journal, const Clock& clock,
              SubmitEvents& events, WaitLine& work_changed);
  ~SpoolSource() override;

  boost::asio::awaitable<void> run() override;
  void stop() override;

  bool watching() const { return watching_; }
  // Why incoming/ cannot be scanned (it was removed, say); empty while it can.
  const std::string& incoming_problem() const { return incoming_problem_; }
  // Files left in incoming/ after a failed claim, resting before the next try.
  std::size_t unclaimable_files() const { return claim_order_.resting_count(); }
  // The backlog as last scanned: files waiting or being worked, and the oldest one's age.
  std::size_t backlog_files() const { return backlog_files_; }
  double oldest_waiting_age_s() const { return oldest_waiting_age_s_; }
  // An input arrived another way (a post): counted in the backlog until the next scan.
  void note_arrival() { ++backlog_files_; }

 private:
  boost::asio::awaitable<void> watch_incoming();
  boost::asio::awaitable<void> read_incoming_events(int fd);
  boost::asio::awaitable<void> housekeeping_hourly();
  // One round of claims: made on the claim thread, handed over on the I/O thread.
  struct ClaimBatch {
    SpoolSource* source;
    std::vector<std::string> names;
    std::vector<spool::ClaimedFile> claimed;
    std::vector<std::pair<std::string, std::string>> failed;  // name, why
    std::exception_ptr sync_error;
    void complete() { source->claimed(*this); }
  };
  void claim_available();
  void claim(ClaimBatch& batch);    // the claim thread: renames, then one fsync per directory
  void claimed(ClaimBatch& batch);  // the I/O thread: start the claimed files
  // Scans incoming/ when it is due (see the .cpp); false when it cannot be read.
  bool scan_if_due(std::size_t capacity);
  void report_backlog();

  boost::asio::any_io_executor executor_;
  const spool::SpoolPaths& paths_;
  SpoolSourceSettings settings_;
  Intake& intake_;
  StorageWatch& storage_;
  journal::Journal& journal_;
  const Clock& clock_;
  SubmitEvents& events_;
  WaitLine& work_changed_;  // files arrived, or the intake made room
  WaitLine housekeeping_;
  WaitLine watch_again_;  // incoming/ may be back: try to watch it
  std::string incoming_problem_;
  bool stopping_ = false;
  bool watching_ = false;
  int inotify_fd_ = -1;
  spool::ClaimOrder claim_order_;
  MonoTime last_scan_{};
  std::size_t scanned_files_ = 0;       // files in incoming/ at the last scan
  std::size_t claimed_since_scan_ = 0;
  std::optional<WallTime> earliest_arrival_;  // of the files at the last scan
  std::size_t backlog_files_ = 0;
  double oldest_waiting_age_s_ = 0;
  log::Limiter scan_error_log_{std::chrono::seconds(60)};
  log::Limiter claim_error_log_{std::chrono::seconds(60)};
  bool claiming_ = false;  // a batch is on the claim thread; the next waits for it
  BatchThread<ClaimBatch> claimer_;  // last: its thread uses the members above
};

}  // namespace submitd::submit
