// Role: the spool directory as a request source (see spool_source.hpp).
#include "submit/spool_source.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "spool/retention.hpp"
#include "util/durable_fs.hpp"
#include "util/log.hpp"

namespace submitd::submit {
namespace asio = boost::asio;

SpoolSource::SpoolSource(asio::any_io_executor executor, const spool::SpoolPaths& paths, SpoolSourceSettings settings,
                         Intake& intake, StorageWatch& storage, journal::Journal& journal, const Clock& clock,
                         SubmitEvents& events, WaitLine& work_changed)
    : executor_(executor),
      paths_(paths),
      settings_(settings),
      intake_(intake),
      storage_(storage),
      journal_(journal),
      clock_(clock),
      events_(events),
      work_changed_(work_changed),
      housekeeping_(executor),
      watch_again_(executor),
      claimer_(executor, [this](std::deque<ClaimBatch>& batches) {
        for (auto& batch : batches) claim(batch);
      }) {}

SpoolSource::~SpoolSource() {
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

void SpoolSource::stop() {
  stopping_ = true;
  if (inotify_fd_ >= 0) {
    ::close(inotify_fd_);  // ends the pending read with an error, so watch_incoming returns
    inotify_fd_ = -1;
  }
  housekeeping_.wake_all();
  watch_again_.wake_all();
  work_changed_.wake_all();
}

asio::awaitable<void> SpoolSource::run() {
  asio::co_spawn(executor_, housekeeping_hourly(), [](std::exception_ptr e) { log::escaped(e, "housekeeping"); });
  asio::co_spawn(executor_, watch_incoming(), [](std::exception_ptr e) { log::escaped(e, "watcher"); });
  while (!stopping_) {
    claim_available();
    co_await work_changed_.wait_for(settings_.rescan_interval);
  }
}

asio::awaitable<void> SpoolSource::watch_incoming() {
  // A watch ends when incoming/ is removed or moved away; it is set again on the directory
  // found under that name once it is back (until then the scan reports it missing).
  bool warned = false;
  while (!stopping_) {
    int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0 || ::inotify_add_watch(fd, paths_.incoming.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF |
                                                                     IN_MOVE_SELF | IN_ONLYDIR) < 0) {
      int err = errno;
      if (fd >= 0) ::close(fd);
      if (err != ENOENT && err != ENOTDIR && !warned) {
        log::warn("inotify on {} unavailable ({}); relying on the periodic rescan", paths_.incoming.string(),
                  std::strerror(err));
        warned = true;
      }
      // Cheap to try (no scan): while incoming/ is missing, it is looked for every second.
      co_await watch_again_.wait_for(std::min<std::chrono::milliseconds>(settings_.rescan_interval, std::chrono::seconds(1)));
      continue;
    }
    work_changed_.wake_all();  // scan now: files may have arrived while nothing watched
    co_await read_incoming_events(fd);
  }
}

asio::awaitable<void> SpoolSource::read_incoming_events(int fd) {
  // The descriptor object must not own the fd: stop() closes it to end the read.
  inotify_fd_ = fd;
  asio::posix::stream_descriptor watch(executor_, ::dup(fd));
  watching_ = true;
  alignas(inotify_event) char buf[4096];
  bool watch_gone = false;
  while (!stopping_ && !watch_gone) {
    // Events are only a hint (overflow included): any of them means "rescan now".
    auto [ec, n] = co_await watch.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec || stopping_) break;
    // Names of arrivals go to the claim order, so new files are not queued behind a backlog.
    for (std::size_t at = 0; at + sizeof(inotify_event) <= n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buf + at);
      if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) watch_gone = true;
      if (event->len > 0 && event->name[0] != '\0' && event->name[0] != '.') claim_order_.announced(event->name);
      at += sizeof(inotify_event) + event->len;
    }
    work_changed_.wake_all();  // a gone directory too: the scan finds out and reports it
  }
  watching_ = false;
  if (inotify_fd_ == fd) {
    ::close(fd);
    inotify_fd_ = -1;
  }
  if (watch_gone && !stopping_) {
    log::error("{} was removed or moved away: new drops are not seen until it is back (the daemon creates it "
               "at start, or re-create it with mode 2770 and the producers' group)",
               paths_.incoming.string());
  }
}

void SpoolSource::claim_available() {
  if (stopping_ || claiming_ || !storage_.allows_new_work()) return;
  const std::size_t capacity = intake_.room();
  claim_order_.wake_rested(clock_.now());
  if (!scan_if_due(capacity) || capacity == 0) return;
  auto names = claim_order_.next(capacity);
  if (names.empty()) return;
  claiming_ = true;
  claimer_.push(ClaimBatch{this, std::move(names), {}, {}, nullptr});
}

void SpoolSource::claim(ClaimBatch& batch) {
  for (const auto& name : batch.names) {
    try {
      if (auto file = spool::claim_file(paths_, name)) batch.claimed.push_back(std::move(*file));
    } catch (const std::exception& e) {
      batch.failed.emplace_back(name, e.what());
    }
  }
  if (batch.claimed.empty()) return;
  // The claims must be on disk before any of their requests is journaled: a claim lost to a
  // power cut would otherwise be claimed again under a new claim id, i.e. new jobIds, i.e.
  // duplicate jobs. One fsync of each directory serves the whole batch.
  try {
    fsync_dir(paths_.active);
    fsync_dir(paths_.incoming);
  } catch (...) {
    batch.sync_error = std::current_exception();
  }
}

void SpoolSource::claimed(ClaimBatch& batch) {
  claiming_ = false;
  for (const auto& [name, why] : batch.failed) {
    // It stays in incoming/; resting, it holds no claim slot while the others go on.
    claim_order_.claim_failed(name, clock_.now());
    if (auto skipped = claim_error_log_.allow(clock_.now())) {
      log::error("cannot claim incoming/{}: {}; trying it again in a minute{}", name, why, log::Limiter::note(*skipped));
    }
  }
  claimed_since_scan_ += batch.claimed.size();
  // While stopping, or when the claims are not known to be on disk, the files are not started:
  // they stay in active/ and are resumed (from the journal) at the next start, after which the
  // claim is certainly on disk.
  if (stopping_) return;
  if (batch.sync_error) {
    try {
      std::rethrow_exception(batch.sync_error);
    } catch (const std::exception& e) {
      log::error("cannot sync the claims of {} files: {}; they stay in active/ until the next start",
                 batch.claimed.size(), e.what());
      storage_.note_write_failure("sync claims", e);
    }
    return;
  }
  for (auto& file : batch.claimed) intake_.start(std::move(file));
  if (!batch.claimed.empty()) report_backlog();
  work_changed_.wake_all();  // the next batch, if there is room (failed names rest meanwhile)
}

bool SpoolSource::scan_if_due(std::size_t capacity) {
  const MonoTime now = clock_.now();
  // A scan stats every file in incoming/, so its oldest are kept for the claims that follow
  // (up to an eighth of the files, 4,096 to 65,536 names): the cost per claim stays flat as
  // the backlog grows. Scanned again when they are used up, or every rescan interval (files
  // inotify did not announce, fresh figures); with no room to claim only every 10 s, for the
  // backlog figures (a million files take a second).
  const bool used_up = claim_order_.backlog_kept() == 0;
  const auto every = capacity == 0 ? std::chrono::milliseconds(10'000) : settings_.rescan_interval;
  if (!(capacity > 0 && used_up) && now - last_scan_ < every) return true;
  last_scan_ = now;
  const std::size_t keep =
      capacity == 0 ? 0 : std::max(capacity, std::clamp<std::size_t>(scanned_files_ / 8, 4096, 65536));
  spool::IncomingScan scan;
  try {
    scan = spool::scan_incoming(paths_, keep, [this](std::string_view name) { return claim_order_.resting(name); });
  } catch (const std::exception& e) {
    if (incoming_problem_.empty()) watch_again_.wake_all();
    incoming_problem_ = e.what();
    if (auto skipped = scan_error_log_.allow(clock_.now())) {
      log::error("cannot scan incoming/: {}{}", e.what(), log::Limiter::note(*skipped));
    }
    return false;
  }
  if (!incoming_problem_.empty()) {
    log::info("{} can be read again", paths_.incoming.string());
    incoming_problem_.clear();
    watch_again_.wake_all();  // the directory is back: watch it again now, not at the next tick
  }
  scanned_files_ = scan.files;
  claimed_since_scan_ = 0;
  earliest_arrival_ = scan.earliest_arrival;
  if (keep > 0) claim_order_.scanned(std::move(scan.oldest));
  report_backlog();
  return true;
}

void SpoolSource::report_backlog() {
  // As of the last scan, less what was claimed since (the age is the scan's until the next).
  const std::size_t waiting = scanned_files_ > claimed_since_scan_ ? scanned_files_ - claimed_since_scan_ : 0;
  std::optional<WallTime> oldest = waiting > 0 ? earliest_arrival_ : std::nullopt;
  if (auto working = intake_.oldest_drop(); working && (!oldest || *working < *oldest)) oldest = working;
  double age = oldest ? std::max(0.0, std::chrono::duration<double>(clock_.wall_now() - *oldest).count()) : 0.0;
  backlog_files_ = waiting + intake_.working();
  oldest_waiting_age_s_ = age;
  events_.backlog_changed(backlog_files_, age);
}

asio::awaitable<void> SpoolSource::housekeeping_hourly() {
  while (!stopping_) {
    auto cutoff = clock_.wall_now() - settings_.request_id_retention;
    journal_.prune_request_ids(std::chrono::duration_cast<std::chrono::milliseconds>(cutoff.time_since_epoch()).count());
    if (settings_.done_retention.count() > 0) {
      try {
        std::size_t removed = spool::prune_done(paths_, clock_.wall_now() - settings_.done_retention);
        if (removed > 0) {
          log::info("pruned {} files from done/ (placed more than {} days ago)", removed,
                    std::chrono::duration_cast<std::chrono::days>(settings_.done_retention).count());
        }
      } catch (const std::exception& e) {
        log::error("cannot prune done/: {}", e.what());
      }
    }
    co_await housekeeping_.wait_for(std::chrono::hours(1));
  }
}

}  // namespace submitd::submit
