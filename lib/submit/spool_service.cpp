// Role: the spool main loop (see spool_service.hpp): recovery at start, the inotify hint and
// the periodic scan, claiming in fair order, backlog figures, requestId pruning. Files are
// worked in file_work.cpp, requests in request_run.cpp.
#include "submit/spool_service.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <deque>
#include <exception>
#include <vector>

#include "spool/finished_file.hpp"
#include "spool/outcome.hpp"
#include "spool/request_parser.hpp"
#include "submit/file_work.hpp"
#include "spool/retention.hpp"
#include "util/durable_fs.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace submitd::submit {
namespace asio = boost::asio;


SpoolService::SpoolService(asio::any_io_executor executor, spool::SpoolPaths paths,
                           SpoolServiceSettings settings, api::ApiClient& api,
                           journal::Journal& journal, JobPaths job_paths, Uuid job_namespace,
                           const Clock& clock, SubmitEvents& events)
    : executor_(executor),
      paths_(std::move(paths)),
      settings_(settings),
      api_(api),
      journal_(journal),
      job_paths_(std::move(job_paths)),
      job_namespace_(job_namespace),
      clock_(clock),
      events_(events),
      rng_(std::random_device{}()),
      parser_(std::make_unique<spool::RequestParser>()),
      work_changed_(executor),
      sleepers_(executor),
      resumed_(executor),
      inflight_places_(executor, settings.max_inflight),
      max_held_(settings.max_held > 0 ? settings.max_held : 4 * settings.max_inflight),
      pacer_(RateLimiter(settings.rate_limit_per_second, std::max(1.0, settings.rate_limit_per_second / 10)),
             RetryBudget(settings.retry_budget),
             // Burst of one: a cap on cost should not allow a minute's worth at once.
             RateLimiter(settings.max_jobs_per_minute / 60.0, 1)),
      storage_(settings.min_free_bytes, settings.storage_probe_interval),
      follow_book_(settings.follow.max_followed),
      follow_wakeup_(executor) {}

SpoolService::~SpoolService() {
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

void SpoolService::apply_live_settings(double rate_limit_per_second, RetryBudgetSettings budget,
                                       RetryTiming timing) {
  settings_.rate_limit_per_second = rate_limit_per_second;
  settings_.retry_budget = budget;
  settings_.submission.timing = timing;
  pacer_.replace_call_rules(RateLimiter(rate_limit_per_second, std::max(1.0, rate_limit_per_second / 10)),
                            RetryBudget(budget));
}

void SpoolService::set_paused(bool paused) {
  const auto marker = paths_.state / "paused";
  if (paused) {
    write_file_durably(marker, "paused by the control socket; POST /v1/resume (or bytenite-submit resume) ends it\n", 0640);
  } else {
    std::error_code ec;
    std::filesystem::remove(marker, ec);
    if (ec) throw std::system_error(ec, "remove " + marker.string());
    fsync_dir(paths_.state);
  }
  if (paused_ == paused) return;
  paused_ = paused;
  log::info("{}", paused ? "paused: intake goes on, nothing is sent to the API until resume"
                         : "resumed: submitting again");
  events_.paused_changed(paused);
  if (!paused) resumed_.notify_all();
}

void SpoolService::stop() {
  stopping_ = true;
  if (inotify_fd_ >= 0) {
    ::close(inotify_fd_);  // ends the pending read with an error, so watch_incoming returns
    inotify_fd_ = -1;
  }
  sleepers_.notify_all();
  resumed_.notify_all();
  follow_wakeup_.notify_all();
  work_changed_.notify_all();
  inflight_places_.close();
}

asio::awaitable<void> SpoolService::watch_incoming() {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0 || ::inotify_add_watch(fd, paths_.incoming.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    log::warn("inotify on {} unavailable ({}); relying on the periodic rescan",
              paths_.incoming.string(), std::strerror(errno));
    if (fd >= 0) ::close(fd);
    co_return;
  }
  // The descriptor object must not own the fd: stop() closes it to end the read.
  inotify_fd_ = fd;
  asio::posix::stream_descriptor watch(executor_, ::dup(fd));
  watching_ = true;
  alignas(inotify_event) char buf[4096];
  while (!stopping_) {
    // Events are only a hint (overflow included): any of them means "rescan now".
    auto [ec, n] = co_await watch.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec || stopping_) break;
    // Names of arrivals go to the claim order, so new files are not queued behind a backlog.
    for (std::size_t at = 0; at + sizeof(inotify_event) <= n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buf + at);
      if (event->len > 0 && event->name[0] != '\0' && event->name[0] != '.') {
        claim_order_.announced(event->name);
      }
      at += sizeof(inotify_event) + event->len;
    }
    work_changed_.notify_all();
  }
  watching_ = false;
}

void SpoolService::storage_spell_started() {
  log::error("disk full ({}): no new work is claimed; accepted work is kept and goes on, and "
             "claiming starts again by itself once space is back",
             storage_.reason());
  events_.storage_changed(true);
}

bool SpoolService::note_write_failure(std::string_view what, const std::exception& e) {
  if (!spool::is_out_of_space(e)) return false;
  const auto& code = dynamic_cast<const std::system_error&>(e).code();
  if (storage_.on_write_failure(what, code, clock_.now())) storage_spell_started();
  return true;
}

bool SpoolService::storage_allows_claiming() {
  const MonoTime now = clock_.now();
  // The smallest free space of the two file systems written to (often the same one).
  auto least_free = [&] {
    return std::min(spool::free_bytes(paths_.active.string()), spool::free_bytes(paths_.state.string()));
  };
  try {
    if (storage_.full()) {
      if (storage_.probe_due(now)) {
        const auto journal = journal_.stats();
        const bool write_ok = spool::probe_write(paths_.active.string()) &&
                              spool::probe_write(paths_.state.string()) &&
                              !(journal.stalled && journal.disk_full);
        if (storage_.on_probe(least_free(), write_ok, now)) {
          log::info("disk space is back: claiming new work again");
          events_.storage_changed(false);
          work_changed_.notify_all();  // files parked for space are worked again
        }
      }
    } else if (now - last_space_check_ >= std::chrono::milliseconds(500)) {
      // At most twice a second: this runs whenever any request finishes.
      last_space_check_ = now;
      const auto journal = journal_.stats();
      if (journal.stalled && journal.disk_full) {
        storage_.on_write_failure("journal commit", std::make_error_code(std::errc::no_space_on_device), now);
        storage_spell_started();
      } else if (settings_.min_free_bytes > 0 && storage_.on_free_space(least_free(), now)) {
        storage_spell_started();
      }
    }
  } catch (const std::exception& e) {
    if (auto skipped = scan_error_log_.allow(now)) {
      log::error("cannot look at free disk space: {}{}", e.what(), log::Limiter::note(*skipped));
    }
  }
  return !storage_.full();
}

void SpoolService::claim_available() {
  if (stopping_) return;
  if (!storage_allows_claiming()) return;
  const std::size_t capacity =
      active_files_ < settings_.max_active_files ? settings_.max_active_files - active_files_ : 0;
  // With no room to claim, scan only now and then, for the backlog figures: a directory of a
  // million files costs a second to scan.
  if (capacity == 0 && clock_.now() - last_scan_ < std::chrono::seconds(10)) return;
  last_scan_ = clock_.now();
  spool::IncomingScan scan;
  try {
    scan = spool::scan_incoming(paths_, capacity);
  } catch (const std::exception& e) {
    if (auto skipped = scan_error_log_.allow(clock_.now())) {
      log::error("cannot scan incoming/: {}{}", e.what(), log::Limiter::note(*skipped));
    }
    return;
  }
  report_backlog(scan);
  std::vector<spool::ClaimedFile> claimed;
  for (const auto& name : claim_order_.next(scan.oldest, capacity)) {
    try {
      if (auto file = spool::claim_file(paths_, name)) claimed.push_back(std::move(*file));
    } catch (const std::exception& e) {
      if (auto skipped = claim_error_log_.allow(clock_.now())) {
        log::error("cannot claim incoming/{}: {}{}", name, e.what(), log::Limiter::note(*skipped));
      }
    }
  }
  if (claimed.empty()) return;
  // The claims must be on disk before any of their requests is journaled: a claim lost to a
  // power cut would otherwise be claimed again under a new claim id, i.e. new jobIds, i.e.
  // duplicate jobs. One fsync of each directory serves the whole batch.
  try {
    fsync_dir(paths_.active);
    fsync_dir(paths_.incoming);
  } catch (const std::exception& e) {
    // Not started: they stay in active/ and are resumed (from the journal) at the next start,
    // after which the claim is certainly on disk.
    log::error("cannot sync the claims of {} files: {}; they stay in active/ until the next start",
               claimed.size(), e.what());
    note_write_failure("sync claims", e);
    return;
  }
  for (auto& file : claimed) start_file(std::move(file));
}

void SpoolService::report_backlog(const spool::IncomingScan& scan) {
  std::optional<WallTime> oldest = scan.oldest_mtime;
  if (!waiting_since_.empty() && (!oldest || *waiting_since_.begin() < *oldest)) oldest = *waiting_since_.begin();
  double age = oldest ? std::max(0.0, std::chrono::duration<double>(clock_.wall_now() - *oldest).count()) : 0.0;
  backlog_files_ = scan.files + active_files_;
  oldest_waiting_age_s_ = age;
  events_.backlog_changed(backlog_files_, age);
}

std::string SpoolService::accept_posted(const std::string& content, const std::string& name) {
  if (storage_.full()) {
    throw std::system_error(std::make_error_code(std::errc::no_space_on_device),
                            "the disk is full (" + storage_.reason() + "); try again later");
  }
  spool::ClaimedFile file;
  file.claim_id = spool::new_claim_id();
  file.original_name = name;
  file.kind = spool::InputKind::jsonl;
  file.active_path = paths_.active / (file.claim_id + "." + name);
  // The same discipline as a producer's drop, but straight into active/ under our claim: the
  // jobIds are known, and the answer is sent only once the requests would survive a crash.
  try {
    write_file_durably(file.active_path, content, 0640);
  } catch (const std::exception& e) {
    note_write_failure("store a posted file", e);
    throw;
  }
  ++backlog_files_;
  std::string claim_id = file.claim_id;
  start_file(std::move(file));
  return claim_id;
}

void SpoolService::start_file(spool::ClaimedFile file) {
  ++active_files_;  // work_file's guard takes it back
  asio::co_spawn(executor_, work_file(std::move(file)),
                 [](std::exception_ptr e) { log_escape(e, "file worker"); });
}

asio::awaitable<void> SpoolService::housekeeping_hourly() {
  while (!stopping_) {
    auto cutoff = clock_.wall_now() - settings_.request_id_retention;
    journal_.prune_request_ids(
        std::chrono::duration_cast<std::chrono::milliseconds>(cutoff.time_since_epoch()).count());
    if (settings_.done_retention.count() > 0) {
      try {
        std::size_t removed = spool::prune_done(paths_, clock_.wall_now() - settings_.done_retention);
        if (removed > 0) log::info("pruned {} files from done/ (older than {} days)", removed, settings_.done_retention.count());
      } catch (const std::exception& e) {
        log::error("cannot prune done/: {}", e.what());
      }
    }
    co_await sleepers_.wait(std::chrono::hours(1));
  }
}

asio::awaitable<void> SpoolService::run() {
  paused_ = std::filesystem::exists(paths_.state / "paused");
  events_.paused_changed(paused_);
  if (paused_) log::warn("starting paused (state/paused exists): nothing is sent to the API until resume");
  auto recovered = spool::recover_claims(paths_);
  // Records of files no longer in active/ (placed, but the crash came before the journal
  // forgot them) are compaction leftovers.
  std::vector<std::string> live;
  for (const auto& file : recovered) live.push_back(file.claim_id);
  journal_.forget_claims_except(std::move(live));
  for (auto& file : recovered) {
    if (file.held) {
      // Its jobs are followed again; or, with following turned off meanwhile, the placement
      // does not wait and keeps the ends recorded so far (place_if_all_ended).
      if (settings_.follow.enabled) {
        log::info("following the jobs of {} again (claim {})", file.original_name, file.claim_id);
      } else {
        log::info("placing {} (claim {}) with the job ends known so far: job following is off",
                  file.original_name, file.claim_id);
      }
      hold_file(std::move(file));
      continue;
    }
    log::info("resuming interrupted file {} (claim {})", file.original_name, file.claim_id);
    start_file(std::move(file));
  }
  if (settings_.follow.enabled) {
    asio::co_spawn(executor_, follow_loop(), [](std::exception_ptr e) { log_escape(e, "job following"); });
  }
  asio::co_spawn(executor_, housekeeping_hourly(),
                 [](std::exception_ptr e) { log_escape(e, "housekeeping"); });
  asio::co_spawn(executor_, watch_incoming(), [](std::exception_ptr e) { log_escape(e, "watcher"); });
  while (!stopping_) {
    claim_available();
    co_await work_changed_.wait(settings_.rescan_interval);
  }
  while (active_files_ > 0) co_await work_changed_.wait(std::chrono::milliseconds(50));
}

}  // namespace submitd::submit
