// Role: the spool main loop (see spool_service.hpp). Asio here is limited to spawning,
// waiting and the inotify descriptor; the decisions live in JobSubmission and the spool
// helpers.
#include "submit/spool_service.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <deque>
#include <exception>

#include "spool/finished_file.hpp"
#include "spool/jsonl_reader.hpp"
#include "spool/outcome.hpp"
#include "spool/request_parser.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace submitd::submit {
namespace asio = boost::asio;
using spool::OutcomeRecord;
using spool::SubmitStatus;

namespace {

void log_escape(std::exception_ptr e, const char* what) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    log::error("{} ended with an exception: {}", what, x.what());
  } catch (...) {
    log::error("{} ended with an unknown exception", what);
  }
}


std::string join_warnings(const std::vector<std::string>& w) {
  std::string out;
  for (const auto& s : w) out += (out.empty() ? "" : "; ") + s;
  return out;
}

}  // namespace

// One slot per request of a file, in input order; written out once it and all before it
// are done, so the outcome file is in input order with a bounded buffer.
struct Slot {
  OutcomeRecord record;
  std::string stored_line;  // the outcome line (journaled); used as is
  // Where the request's text is in the input, for the retry file if it fails: read back
  // then, so memory does not hold the text of every request in flight. Length 0: none.
  std::uint64_t text_offset = 0;
  std::uint64_t text_length = 0;
  bool done = false;
  bool interrupted = false;
};

struct SpoolService::FileWork {
  spool::ClaimedFile file;
  spool::FinishedFileWriter writer;
  UniqueFd input;  // the claimed file, open while it is worked
  std::deque<std::shared_ptr<Slot>> window;
  WallTime accepted_wall;
  MonoTime accepted_mono;
  std::size_t submitted = 0, failed = 0, running = 0;
  bool interrupted = false;

  FileWork(const spool::SpoolPaths& paths, spool::ClaimedFile f)
      : file(std::move(f)), writer(paths, file) {}

  void flush() {
    while (!window.empty() && window.front()->done) {
      auto& slot = *window.front();
      if (slot.interrupted) {
        interrupted = true;
      } else {
        writer.add_outcome(slot.stored_line.empty() ? spool::outcome_json_line(slot.record)
                                                    : slot.stored_line);
        if (slot.record.status == SubmitStatus::failed) {
          if (slot.text_length > 0) {
            writer.add_failed_request(read_input(slot.text_offset, slot.text_length));
          } else {
            writer.note_failure();
          }
          ++failed;
        } else {
          ++submitted;
        }
      }
      window.pop_front();
    }
  }

  std::string read_input(std::uint64_t offset, std::uint64_t length) const {
    std::string text(static_cast<std::size_t>(length), '\0');
    ssize_t n = ::pread(input.get(), text.data(), text.size(), static_cast<off_t>(offset));
    if (n != static_cast<ssize_t>(length)) {
      throw std::runtime_error("cannot read back a failed request for the retry file: " +
                               std::string(n < 0 ? std::strerror(errno) : "the input is shorter than before"));
    }
    return text;
  }
};

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
      stop_signal_(executor),
      inflight_places_(executor, settings.max_inflight),
      max_held_(settings.max_held > 0 ? settings.max_held : 4 * settings.max_inflight),
      pacer_(RateLimiter(settings.rate_limit_per_second, std::max(1.0, settings.rate_limit_per_second / 10)),
             RetryBudget(settings.retry_budget)) {}

SpoolService::~SpoolService() {
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

void SpoolService::stop() {
  stopping_ = true;
  if (inotify_fd_ >= 0) {
    ::close(inotify_fd_);  // ends the pending read with an error, so watch_incoming returns
    inotify_fd_ = -1;
  }
  stop_signal_.notify_all();
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

void SpoolService::claim_available() {
  if (stopping_) return;
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
    log::error("cannot scan incoming/: {}", e.what());
    return;
  }
  report_backlog(scan);
  for (const auto& name : claim_order_.next(scan.oldest, capacity)) {
    std::optional<spool::ClaimedFile> claimed;
    try {
      claimed = spool::claim_file(paths_, name);
    } catch (const std::exception& e) {
      log::error("cannot claim incoming/{}: {}", name, e.what());
      continue;
    }
    if (claimed) start_file(std::move(*claimed));
  }
}

void SpoolService::report_backlog(const spool::IncomingScan& scan) {
  std::optional<WallTime> oldest = scan.oldest_mtime;
  if (!waiting_since_.empty() && (!oldest || *waiting_since_.begin() < *oldest)) oldest = *waiting_since_.begin();
  double age = oldest ? std::max(0.0, std::chrono::duration<double>(clock_.wall_now() - *oldest).count()) : 0.0;
  events_.backlog_changed(scan.files + active_files_, age);
}

void SpoolService::start_file(spool::ClaimedFile file) {
  ++active_files_;  // work_file's guard takes it back
  asio::co_spawn(executor_, work_file(std::move(file)),
                 [](std::exception_ptr e) { log_escape(e, "file worker"); });
}

asio::awaitable<void> SpoolService::prune_request_ids_hourly() {
  while (!stopping_) {
    auto cutoff = clock_.wall_now() - settings_.request_id_retention;
    journal_.prune_request_ids(
        std::chrono::duration_cast<std::chrono::milliseconds>(cutoff.time_since_epoch()).count());
    co_await stop_signal_.wait(std::chrono::hours(1));
  }
}

asio::awaitable<void> SpoolService::run() {
  auto recovered = spool::recover_claims(paths_);
  // Records of files no longer in active/ (placed, but the crash came before the journal
  // forgot them) are compaction leftovers.
  std::vector<std::string> live;
  for (const auto& file : recovered) live.push_back(file.claim_id);
  journal_.forget_claims_except(std::move(live));
  for (auto& file : recovered) {
    log::info("resuming interrupted file {} (claim {})", file.original_name, file.claim_id);
    start_file(std::move(file));
  }
  asio::co_spawn(executor_, prune_request_ids_hourly(),
                 [](std::exception_ptr e) { log_escape(e, "requestId pruning"); });
  asio::co_spawn(executor_, watch_incoming(), [](std::exception_ptr e) { log_escape(e, "watcher"); });
  while (!stopping_) {
    claim_available();
    co_await work_changed_.wait(settings_.rescan_interval);
  }
  while (active_files_ > 0) co_await work_changed_.wait(std::chrono::milliseconds(50));
}

asio::awaitable<bool> SpoolService::drive(JobSubmission& submission, const std::string& claim_id,
                                          std::uint64_t line, bool& holding_inflight) {
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  // A request that must wait (pacing, backoff) gives its in-flight place to another and
  // queues for one again afterwards, behind new work: waiting retries never starve it.
  auto wait_outside = [&](std::chrono::nanoseconds delay) -> asio::awaitable<bool> {
    inflight_places_.release();
    holding_inflight = false;
    co_await stop_signal_.wait(delay);
    holding_inflight = co_await inflight_places_.acquire();
    co_return holding_inflight;
  };
  bool retry = false;
  while (!submission.finished()) {
    if (stopping_) co_return false;
    auto admission = pacer_.admit(retry, clock_.now());
    if (admission.wait.count() > 0) {
      events_.call_paced(admission.by_budget ? "retry_budget" : "rate_limit");
      if (!co_await wait_outside(admission.wait)) co_return false;
    }
    api::HttpCall call = submission.current_call();
    api::ApiReply reply = co_await api_.send(call);
    const Stage before = submission.stage();
    auto step = submission.on_reply(reply, clock_.now(), clock_.wall_now(), jitter(rng_));
    retry = step.kind == JobSubmission::Step::Kind::wait;
    // Progress is journaled without waiting: if it is lost, recovery reads the job instead.
    if (before == Stage::create && submission.stage() != Stage::create && !submission.finished()) {
      journal_.progress(claim_id, line, journal::Step::created);
    } else if (before != Stage::run && submission.stage() == Stage::run) {
      journal_.progress(claim_id, line, journal::Step::configured);
    }
    if (retry) {
      const std::string reason = retry_reason(reply);
      events_.retry_scheduled(call.endpoint, reason);
      // Say loudly, but at most every 10 s, why work is being deferred: during an outage
      // thousands of requests would otherwise each log the same line.
      if (clock_.now() - last_deferral_log_ >= std::chrono::seconds(10)) {
        last_deferral_log_ = clock_.now();
        log::warn("API trouble, deferring requests: {}", describe_failure(reply));
      }
      log::debug("job {}: {} deferred for {} ms ({})", submission.job_id(),
                 api::endpoint_name(call.endpoint), step.delay.count(), reason);
      if (!co_await wait_outside(step.delay)) co_return false;
    }
  }
  co_return true;
}

asio::awaitable<void> SpoolService::work_file(spool::ClaimedFile claimed) {
  // When the file was dropped (its mtime survives the claim's rename): the backlog's age.
  WallTime dropped = clock_.wall_now();
  struct stat dropped_st {};
  if (::lstat(claimed.active_path.c_str(), &dropped_st) == 0) {
    dropped = WallTime(std::chrono::duration_cast<WallTime::duration>(
        std::chrono::seconds(dropped_st.st_mtim.tv_sec) + std::chrono::nanoseconds(dropped_st.st_mtim.tv_nsec)));
  }
  struct ActiveCount {
    SpoolService& s;
    std::multiset<WallTime>::iterator since;
    ~ActiveCount() {
      --s.active_files_;
      s.waiting_since_.erase(since);
      s.work_changed_.notify_all();
    }
  } active_count{*this, waiting_since_.insert(dropped)};

  std::unique_ptr<FileWork> work;
  try {
    work = std::make_unique<FileWork>(paths_, claimed);
  } catch (const std::exception& e) {
    log::error("cannot start outcome file for {}: {}; left in active/", claimed.original_name, e.what());
    co_return;
  }
  FileWork& w = *work;
  w.accepted_wall = clock_.wall_now();
  w.accepted_mono = clock_.now();

  // Records a failure that needs no API call (bad input), in order.
  auto reject = [&](std::uint64_t line, std::uint64_t text_offset, std::uint64_t text_length,
                    std::string message, std::string request_id = {}) {
    auto slot = std::make_shared<Slot>();
    slot->record.line = line;
    // Bad lines are named like good ones without a requestId: <claim id>:<line>.
    if (request_id.empty() && line > 0) request_id = w.file.claim_id + ":" + std::to_string(line);
    slot->record.request_id = std::move(request_id);
    slot->record.status = SubmitStatus::failed;
    slot->record.accepted_at = w.accepted_wall;
    slot->record.finished_at = clock_.wall_now();
    slot->record.error = spool::OutcomeError{"validate", 0, std::move(message)};
    slot->text_offset = text_offset;
    slot->text_length = text_length;
    slot->done = true;
    events_.request_finished(SubmitStatus::failed, "validate", std::chrono::nanoseconds(0));
    w.window.push_back(std::move(slot));
    w.flush();
  };

  // Starts one parsed request, waiting while too much is in flight.
  auto admit = [&](spool::JobRequest request, std::uint64_t text_offset,
                   std::uint64_t text_length) -> asio::awaitable<void> {
    while (!stopping_ && (held_ >= max_held_ ||
                          w.window.size() >= settings_.reorder_window)) {
      co_await work_changed_.wait();
    }
    if (stopping_) {
      w.interrupted = true;
      co_return;
    }
    std::string claim_key = w.file.claim_id + ":" + std::to_string(request.line);
    const bool request_id_given = !request.request_id.empty();
    if (!request_id_given) request.request_id = claim_key;
    std::string job_id = uuid_v5(job_namespace_, claim_key).str();
    auto slot = std::make_shared<Slot>();
    slot->record.line = request.line;
    slot->record.request_id = request.request_id;
    slot->record.job_id = job_id;
    slot->record.accepted_at = w.accepted_wall;
    slot->record.warnings = request.warnings;
    slot->text_offset = text_offset;
    slot->text_length = text_length;
    if (!request.warnings.empty()) {
      log::warn("{} line {}: {}", w.file.original_name, request.line, join_warnings(request.warnings));
    }
    w.window.push_back(slot);
    ++held_;
    ++w.running;
    events_.request_accepted();
    events_.inflight_changed(held_);
    auto shared_request = std::make_shared<spool::JobRequest>(std::move(request));
    asio::co_spawn(
        executor_,
        [this, shared_request, slot, &w, request_id_given]() -> asio::awaitable<void> {
          const spool::JobRequest& req = *shared_request;
          journal::Accept acceptance{w.file.claim_id,  req.line,
                                     req.request_id,   request_id_given,
                                     slot->record.job_id,
                                     std::chrono::duration_cast<std::chrono::milliseconds>(
                                         clock_.wall_now().time_since_epoch()).count()};
          // Durable before any API call: a crash from here on finds the request in the journal,
          // and its requestId is claimed against duplicates.
          journal::AcceptVerdict verdict = co_await journal_.accept(acceptance);
          bool completed = false;
          bool holding_inflight = false;
          std::optional<JobSubmission> submission;
          switch (verdict.kind) {
            case journal::AcceptVerdict::Kind::finished:
              // Finished before a restart: its outcome stands; nothing is sent again.
              slot->stored_line = std::move(verdict.outcome_line);
              slot->record.status = static_cast<SubmitStatus>(verdict.status);
              completed = true;
              break;
            case journal::AcceptVerdict::Kind::duplicate:
              slot->record.status = SubmitStatus::duplicate;
              slot->record.job_id = verdict.earlier_job_id;
              slot->record.attempts = 0;
              completed = true;
              log::info("request {} is a duplicate of job {} (requestId accepted before)",
                        req.request_id, verdict.earlier_job_id);
              break;
            case journal::AcceptVerdict::Kind::resumed:
            case journal::AcceptVerdict::Kind::fresh: {
              using Resume = JobSubmission::Resume;
              Resume resume = Resume::none;
              if (verdict.kind == journal::AcceptVerdict::Kind::resumed) {
                resume = verdict.step >= journal::Step::configured ? Resume::configured : Resume::unknown;
              } else if (w.file.recovered && journal_.created()) {
                resume = Resume::unknown;  // no journal from before: calls may have gone out
              }
              submission.emplace(req, slot->record.job_id, job_paths_, settings_.submission,
                                 w.accepted_mono, resume);
              try {
                // The in-flight place is taken only now: waiting for the journal's commit is
                // not API work, and holding a place through it would idle the pipeline.
                holding_inflight = co_await inflight_places_.acquire();
                if (holding_inflight) {
                  completed = co_await drive(*submission, w.file.claim_id, req.line, holding_inflight);
                }
              } catch (const std::exception& e) {
                log::error("job {}: submission stopped by an exception: {}", submission->job_id(), e.what());
              }
              slot->record.status = submission->status();
              slot->record.attempts = submission->attempts();
              slot->record.error = submission->error();
              break;
            }
          }
          slot->record.finished_at = clock_.wall_now();
          slot->interrupted = !completed;
          slot->done = true;
          if (completed && slot->stored_line.empty()) {
            auto stage = slot->record.error ? std::string_view(slot->record.error->stage) : "";
            events_.request_finished(slot->record.status, stage, clock_.now() - w.accepted_mono);
            if (slot->record.error) {
              log::info("request {} (job {}) failed at {}: {}", slot->record.request_id,
                        slot->record.job_id, slot->record.error->stage, slot->record.error->message);
            }
            journal::Finish finish{w.file.claim_id, req.line, spool::outcome_json_line(slot->record),
                                   static_cast<int>(slot->record.status), std::nullopt, slot->record.job_id};
            // A request that failed before it could have run releases its requestId, so the
            // fixed request can be dropped again under the same id. After a run was sent the
            // job may exist and be running: the id stays claimed.
            if (request_id_given && slot->record.status == SubmitStatus::failed && slot->record.error &&
                slot->record.error->stage != "run") {
              finish.release_request_id = req.request_id;
            }
            slot->stored_line = finish.outcome_line;
            journal_.finish(std::move(finish));
          }
          if (holding_inflight) inflight_places_.release();
          --held_;
          --w.running;
          events_.inflight_changed(held_);
          try {
            w.flush();
          } catch (const std::exception& e) {
            log::error("cannot write outcome for {}: {}", w.file.original_name, e.what());
            w.interrupted = true;
          }
          work_changed_.notify_all();
        },
        [](std::exception_ptr e) { log_escape(e, "submission"); });
  };

  try {
    if (w.file.kind == spool::InputKind::unreadable) {
      reject(0, 0, 0, w.file.original_name + " " + w.file.reject_reason);
    } else {
      // O_NONBLOCK: opening a FIFO swapped in after the claim must not hang the loop.
      w.input = UniqueFd(::open(w.file.active_path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
      const int fd = w.input.get();
      struct stat st {};
      if (fd < 0 || ::fstat(fd, &st) != 0) {
        reject(0, 0, 0, "cannot open the claimed file: " + std::string(std::strerror(errno)));
      } else if (!S_ISREG(st.st_mode)) {
        reject(0, 0, 0, "is not a regular file");
      } else if (w.file.kind == spool::InputKind::json) {
        if (static_cast<std::uint64_t>(st.st_size) > settings_.max_request_bytes) {
          reject(0, 0, 0, fmt::format("the file is {} bytes; a request may be at most {} bytes "
                                    "(spool.max_request_bytes)", st.st_size, settings_.max_request_bytes));
        } else {
          std::string text(static_cast<std::size_t>(st.st_size), '\0');
          ssize_t n = ::pread(fd, text.data(), text.size(), 0);
          if (n < 0) {
            reject(0, 0, 0, "cannot read the file: " + std::string(std::strerror(errno)));
          } else {
            text.resize(static_cast<std::size_t>(n));
            auto parsed = parser_->parse(text, 1);
            if (auto* err = std::get_if<spool::RequestError>(&parsed)) {
              reject(1, 0, text.size(), spool::to_string(*err));
            } else {
              co_await admit(std::get<spool::JobRequest>(std::move(parsed)), 0, text.size());
            }
          }
        }
      } else {
        spool::JsonlReader reader(fd, settings_.max_request_bytes);
        while (!stopping_) {
          auto item = reader.next();
          if (!item) break;
          if (item->too_long) {
            reject(item->number, 0, 0,
                   fmt::format("line {}: the line is longer than {} bytes (spool.max_request_bytes); "
                               "it was not read", item->number, settings_.max_request_bytes));
            continue;
          }
          auto parsed = parser_->parse(item->text, item->number);
          if (auto* err = std::get_if<spool::RequestError>(&parsed)) {
            reject(item->number, item->offset, item->length, spool::to_string(*err));
          } else {
            co_await admit(std::get<spool::JobRequest>(std::move(parsed)), item->offset, item->length);
          }
        }
        if (stopping_) w.interrupted = true;
      }
    }
  } catch (const std::exception& e) {
    log::error("reading {} failed: {}; the file stays in active/", w.file.original_name, e.what());
    w.interrupted = true;
  }

  while (w.running > 0) co_await work_changed_.wait();
  if (w.interrupted || !w.window.empty()) {
    log::info("{} interrupted; it stays in active/ and is resumed at the next start", w.file.original_name);
    co_return;
  }
  try {
    auto placed = w.writer.finish();
    journal_.forget_claim(w.file.claim_id);  // the outcome file now holds what the journal did
    log::info("{}: {} submitted, {} failed -> {}", w.file.original_name, w.submitted, w.failed,
              placed.input.parent_path().filename().string() + "/" + placed.input.filename().string());
  } catch (const std::exception& e) {
    log::error("cannot place {} in done/ or failed/: {}; it stays in active/", w.file.original_name, e.what());
  }
}

}  // namespace submitd::submit
