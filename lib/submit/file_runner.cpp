// Role: working claimed files (see file_runner.hpp). Never reads anything but a regular file
// it opened itself.
#include "submit/file_runner.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <cstring>

#include "spool/input_reader.hpp"
#include "spool/request_identity.hpp"
#include "submit/request_rules.hpp"
#include "util/log.hpp"

namespace submitd::submit {
namespace asio = boost::asio;
using spool::SubmitStatus;

namespace {

std::string join_warnings(const std::vector<std::string>& w) {
  std::string out;
  for (const auto& s : w) out += (out.empty() ? "" : "; ") + s;
  return out;
}

// When the file arrived: as its claim saw it, else (posted, recovered) now.
WallTime dropped_at(const spool::ClaimedFile& file, WallTime now) {
  return file.arrived == WallTime{} ? now : file.arrived;
}

}  // namespace

FileRunners::FileRunners(asio::any_io_executor executor, const spool::SpoolPaths& paths, FileRunnerSettings settings,
                         Scheduler& scheduler, journal::Journal& journal, StorageWatch& storage,
                         FileControls& controls, Uuid job_namespace, const Clock& clock, SubmitEvents& events,
                         WaitLine& work_changed)
    : executor_(std::move(executor)),
      paths_(paths),
      settings_(settings),
      scheduler_(scheduler),
      journal_(journal),
      storage_(storage),
      controls_(controls),
      job_namespace_(job_namespace),
      clock_(clock),
      events_(events),
      work_changed_(work_changed),
      parser_(std::make_unique<spool::RequestParser>(settings_.input_rules)),
      placer_(std::make_unique<Placer>(executor_, paths_)) {}

FileRunners::~FileRunners() = default;

std::size_t FileRunners::room() const {
  // A quarter of the reading places (16 by default) per claim round, at least.
  const std::size_t batch = std::max<std::size_t>(1, settings_.max_active_files / 4);
  return files_room({reading_files_, active_files_, settings_.max_active_files, settings_.files_ceiling, batch});
}

void FileRunners::start(spool::ClaimedFile input) {
  ++active_files_;   // the runner takes it back when it ends,
  ++reading_files_;  // and this one once its file is read
  auto runner = std::make_shared<FileRunner>(*this, std::move(input));
  asio::co_spawn(executor_, [runner]() { return runner->run(); }, [](std::exception_ptr e) {
    log::escaped(e, "file runner");
  });
}

std::optional<WallTime> FileRunners::oldest_drop() const {
  if (dropped_at_.empty()) return std::nullopt;
  return *dropped_at_.begin();
}

void FileRunners::report(std::vector<spool::QueuedFile>& out) const {
  auto live = scheduler_.live().by_claim();
  for (const auto& [claim, runner] : by_claim_) {
    spool::QueuedFile f = runner->progress();
    f.state = controls_.cancelled(claim) ? spool::QueuedFileState::cancelling
              : controls_.held(claim)    ? spool::QueuedFileState::held
                                         : spool::QueuedFileState::working;
    if (auto it = live.find(claim); it != live.end()) {
      const LiveCounts& c = it->second;
      f.waiting = c.queued + c.paused + c.held;
      f.in_flight = c.in_flight;
      f.deferred = c.deferred;
      f.next_retry = c.next_try;
      f.next_retry_reason = c.next_reason;
    }
    out.push_back(std::move(f));
  }
}

FileRunner::FileRunner(FileRunners& runners, spool::ClaimedFile file) : runners_(runners), file_(std::move(file)) {}

spool::QueuedFile FileRunner::progress() const {
  spool::QueuedFile f = spool::queued_file(file_, spool::QueuedFileState::working);
  f.bytes = input_bytes_;
  f.bytes_read = bytes_read_.value_or(read_so_far_);
  f.submitted = submitted_;
  f.failed = failed_;
  return f;
}

asio::awaitable<void> FileRunner::run() {
  auto& r = runners_;
  struct ActiveCount {
    FileRunners& r;
    std::multiset<WallTime>::iterator dropped;
    const FileRunner* runner;
    std::string claim_id;
    ~ActiveCount() {
      // A file worked again (after a full disk) has a new runner under the same claim.
      if (auto it = r.by_claim_.find(claim_id); it != r.by_claim_.end() && it->second == runner) r.by_claim_.erase(it);
      --r.active_files_;
      r.dropped_at_.erase(dropped);
      r.work_changed_.wake_all();
    }
  } active_count{r, r.dropped_at_.insert(dropped_at(file_, r.clock_.wall_now())), this, file_.claim_id};
  r.by_claim_[file_.claim_id] = this;

  bool no_space = false;
  try {
    writer_ = std::make_unique<spool::FinishedFileWriter>(r.paths_, file_);
  } catch (const std::exception& e) {
    no_space = r.storage_.note_write_failure("start an outcome file", e);
    if (!no_space) log::error("cannot start outcome file for {}: {}; left in active/", file_.original_name, e.what());
  }
  if (!writer_) {
    reading_done();
    if (no_space) co_await again_when_space_is_back();
    co_return;
  }
  accepted_wall_ = r.clock_.wall_now();
  accepted_mono_ = r.clock_.now();
  try {
    co_await read_requests();
  } catch (const std::exception& e) {
    note_failure(e, "reading");
  }
  reading_done();
  while (running_ > 0) co_await r.work_changed_.wait();
  co_await finish();
}

void FileRunner::reading_done() {
  --runners_.reading_files_;
  runners_.work_changed_.wake_all();  // its place is free: another file may be claimed
}

asio::awaitable<void> FileRunner::read_requests() {
  auto& r = runners_;
  if (file_.kind == spool::InputKind::unreadable) {
    reject(0, 0, 0, file_.original_name + " " + file_.reject_reason);
    co_return;
  }
  spool::OpenedInput opened = spool::open_input(file_.active_path.string());
  input_ = UniqueFd(opened.fd);
  if (!opened.refusal.empty()) {
    reject(0, 0, 0, opened.refusal);
    co_return;
  }
  spool::InputReader reader(input_.get(), file_.kind, opened.size, r.settings_.max_request_bytes, *r.parser_);
  input_bytes_ = opened.size;
  while (!r.stopping_ && !storage_failed_) {
    auto item = reader.next();
    if (!item) break;
    read_so_far_ = item->offset + item->length;
    if (auto* why = std::get_if<std::string>(&item->parsed)) {
      reject(item->line, item->offset, item->length, std::move(*why));
    } else {
      co_await admit(std::get<spool::JobRequest>(std::move(item->parsed)), item->offset, item->length);
    }
  }
  if (r.stopping_) {
    interrupted_ = true;
  } else if (!storage_failed_) {
    bytes_read_ = reader.bytes_read();
  }
}

void FileRunner::reject(std::uint64_t line, std::uint64_t offset, std::uint64_t length, std::string message) {
  Slot& slot = window_.emplace_back();
  slot.record.line = line;
  // Bad lines are named like good ones without a requestId.
  if (line > 0) slot.record.request_id = spool::request_key(file_.claim_id, line);
  slot.record.status = SubmitStatus::failed;
  slot.record.accepted_at = accepted_wall_;
  slot.record.finished_at = runners_.clock_.wall_now();
  slot.record.error = spool::OutcomeError{"validate", 0, std::move(message)};
  slot.text_offset = offset;
  slot.text_length = length;
  slot.done = true;
  runners_.events_.request_finished(SubmitStatus::failed, "validate", std::chrono::nanoseconds(0));
  write_out();
}

asio::awaitable<void> FileRunner::admit(spool::JobRequest request, std::uint64_t offset, std::uint64_t length) {
  auto& r = runners_;
  // While the disk is full nothing new is accepted (the journal could not take it either);
  // nor while the file is on hold (its requests would only wait).
  while (!r.stopping_ && !storage_failed_ &&
         (!r.scheduler_.has_room() || window_.size() >= r.settings_.reorder_window || r.storage_.full() ||
          r.controls_.held(file_.claim_id))) {
    co_await r.work_changed_.wait_for(r.storage_.full() ? std::chrono::seconds(1) : std::chrono::hours(24));
  }
  if (r.stopping_) {
    interrupted_ = true;
    co_return;
  }
  if (storage_failed_) co_return;  // the file is worked again from the start
  Ticket ticket;
  ticket.claim_id = file_.claim_id;
  ticket.request_id_given = !request.request_id.empty();
  ticket.recovered = file_.recovered;
  ticket.accepted_mono = accepted_mono_;
  if (!ticket.request_id_given) request.request_id = spool::request_key(file_.claim_id, request.line);
  ticket.record.line = request.line;
  ticket.record.request_id = request.request_id;
  ticket.record.job_id = spool::job_id_for(r.job_namespace_, file_.claim_id, request.line);
  ticket.record.accepted_at = accepted_wall_;
  ticket.record.warnings = request.warnings;
  if (!request.warnings.empty()) {
    // Also in the outcome record; a file of a million lines with the same stray field must
    // not write a million log lines.
    if (auto skipped = r.request_warning_log_.allow(r.clock_.now())) {
      log::warn("{} line {}: {}{}", file_.original_name, request.line, join_warnings(request.warnings),
                log::Limiter::note(*skipped));
    }
  }
  ticket.request = std::make_shared<const spool::JobRequest>(std::move(request));
  Slot& slot = window_.emplace_back();
  slot.text_offset = offset;
  slot.text_length = length;
  ++running_;
  r.scheduler_.submit(std::move(ticket), [self = shared_from_this(), &slot](RequestEnd end) {
    self->request_ended(slot, std::move(end));
  });
}

void FileRunner::request_ended(Slot& slot, RequestEnd end) {
  slot.record = std::move(end.record);
  slot.outcome_line = std::move(end.outcome_line);
  slot.interrupted = !end.completed;
  slot.done = true;
  --running_;
  write_out_or_note();
  runners_.work_changed_.wake_all();
}

void FileRunner::write_out_or_note() {
  try {
    write_out();
  } catch (const std::exception& e) {
    note_failure(e, "writing the outcome of");
  }
}

void FileRunner::note_failure(const std::exception& e, std::string_view doing) {
  if (runners_.storage_.note_write_failure("write an outcome", e)) {
    storage_failed_ = true;  // worked again from its start once space is back
    return;
  }
  log::error("{} {} failed: {}; the file stays in active/", doing, file_.original_name, e.what());
  interrupted_ = true;
}

void FileRunner::write_out() {
  if (storage_failed_) return;  // the outcome file is redone as a whole
  while (!window_.empty() && window_.front().done) {
    Slot& slot = window_.front();
    if (slot.interrupted) {
      interrupted_ = true;
    } else {
      writer_->add_outcome(slot.outcome_line.empty() ? spool::outcome_json_line(slot.record) : slot.outcome_line);
      if (slot.record.status == SubmitStatus::failed) {
        if (slot.text_length > 0) {
          writer_->add_failed_request(read_input(slot.text_offset, slot.text_length));
        } else {
          writer_->note_failure();
        }
        ++failed_;
      } else {
        ++submitted_;
        if (slot.record.status == SubmitStatus::submitted) ++jobs_run_;
        if (slot.record.status == SubmitStatus::duplicate) ++duplicates_;
      }
    }
    window_.pop_front();
  }
}

std::string FileRunner::read_input(std::uint64_t offset, std::uint64_t length) const {
  std::string text(static_cast<std::size_t>(length), '\0');
  ssize_t n = ::pread(input_.get(), text.data(), text.size(), static_cast<off_t>(offset));
  if (n != static_cast<ssize_t>(length)) {
    throw std::runtime_error("cannot read back a failed request for the retry file: " +
                             std::string(n < 0 ? std::strerror(errno) : "the input is shorter than before"));
  }
  return text;
}

asio::awaitable<void> FileRunner::again_when_space_is_back() {
  auto& r = runners_;
  writer_.reset();  // closes and deletes the partial outcome and retry files
  log::warn("{}: outcome not written (disk full); it is worked again once space is back", file_.original_name);
  while (!r.stopping_ && r.storage_.full()) co_await r.work_changed_.wait_for(std::chrono::seconds(1));
  if (r.stopping_) co_return;  // still in active/: the next start resumes it
  r.start(file_);  // same claim id, same jobIds: the journal knows each request's fate
}

asio::awaitable<void> FileRunner::finish() {
  auto& r = runners_;
  fail_if_changed_since_read();
  if (storage_failed_ && !r.stopping_) {
    co_await again_when_space_is_back();
    co_return;
  }
  const FileEnd end = file_end(interrupted_, window_.size(), r.settings_.following, jobs_run_);
  if (end == FileEnd::stays_in_active) {
    log::info("{} interrupted; it stays in active/ and is resumed at the next start", file_.original_name);
    co_return;
  }
  // The requests' ends are durable before the file is placed or held: once its outcome is in
  // done/, a lookup by requestId must say so too, and a restart trusts a held file's journal
  // rows to be complete. The wait is at most one group commit window, per file.
  co_await r.journal_.flush();
  bool no_space = false;
  try {
    if (end == FileEnd::hold_for_jobs) {
      writer_->hold();
      log::event_line(log::Level::info, {.message_id = log::event::file_following, .claim_id = file_.claim_id},
                      "{}: {} submitted, {} duplicate, {} failed; following {} jobs to their end", file_.original_name,
                      submitted_ - duplicates_, duplicates_, failed_, jobs_run_);
      writer_.reset();
      r.hold_(file_);
    } else {
      co_await place();
    }
  } catch (const std::exception& e) {
    no_space = r.storage_.note_write_failure(end == FileEnd::place ? "place an outcome file" : "hold an outcome file", e);
    if (!no_space && end == FileEnd::place) {
      log::error("cannot place {} in done/ or failed/: {}; it stays in active/", file_.original_name, e.what());
    } else if (!no_space) {
      log::error("cannot hold the outcome of {}: {}; it stays in active/", file_.original_name, e.what());
    }
  }
  if (no_space) co_await again_when_space_is_back();
}

void FileRunner::fail_if_changed_since_read() {
  if (!bytes_read_ || input_.get() < 0) return;
  auto why = spool::changed_since_read(input_.get(), *bytes_read_);
  if (!why) return;
  if (auto skipped = runners_.changed_input_log_.allow(runners_.clock_.now())) {
    log::error("{}: {}{}", file_.original_name, *why, log::Limiter::note(*skipped));
  }
  bytes_read_.reset();  // once: a second finish (after a full disk) must not say it again
  try {
    reject(0, 0, 0, std::move(*why));
  } catch (const std::exception& e) {
    note_failure(e, "writing the outcome of");
  }
}

asio::awaitable<void> FileRunner::place() {
  auto placed = co_await runners_.placer_->place(*writer_);
  runners_.journal_.forget_claim(file_.claim_id);  // the outcome file now holds what the journal did
  try {
    runners_.controls_.forget(file_.claim_id);
  } catch (const std::exception& e) {
    // Harmless: the next start drops controls of files no longer in active/.
    log::warn("{}: placed, but its cancel could not be cleared from the state: {}", file_.original_name, e.what());
  }
  log::event_line(log::Level::info, {.message_id = log::event::file_placed, .claim_id = file_.claim_id},
                  "{}: {} submitted, {} duplicate, {} failed -> {}", file_.original_name, submitted_ - duplicates_,
                  duplicates_, failed_,
                  placed.input.parent_path().filename().string() + "/" + placed.input.filename().string());
}

}  // namespace submitd::submit
