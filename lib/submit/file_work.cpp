// Role: working one claimed file: reading it (a whole .json, or a .jsonl streamed line by
// line), rejecting bad requests with their reason, admitting good ones into submission while
// bounding what is held in memory, and placing the file with its outcomes in done/ or failed/
// once every request has ended. Never reads anything but a regular file it opened itself.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <cstring>

#include "spool/request_parser.hpp"
#include "spool/request_source.hpp"
#include "submit/file_work.hpp"
#include "util/log.hpp"

namespace submitd::submit {
namespace asio = boost::asio;
using spool::SubmitStatus;

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

namespace {

std::string join_warnings(const std::vector<std::string>& w) {
  std::string out;
  for (const auto& s : w) out += (out.empty() ? "" : "; ") + s;
  return out;
}

}  // namespace

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

  // A file whose outcome could not be written for lack of space waits here for space and is
  // then worked again from its start: the journal knows every request's fate, so requests
  // already sent are not sent again, and the new outcome file is whole.
  auto work_again_when_space_is_back = [&]() -> asio::awaitable<void> {
    log::warn("{}: outcome not written (disk full); it is worked again once space is back",
              claimed.original_name);
    while (!stopping_ && storage_.full()) co_await work_changed_.wait(std::chrono::seconds(1));
    if (stopping_) co_return;  // still in active/: the next start resumes it
    start_file(claimed);
  };

  std::unique_ptr<FileWork> work;
  bool no_space = false;
  try {
    work = std::make_unique<FileWork>(paths_, claimed);
  } catch (const std::exception& e) {
    no_space = note_write_failure("start an outcome file", e);
    if (!no_space) log::error("cannot start outcome file for {}: {}; left in active/", claimed.original_name, e.what());
  }
  if (!work) {
    if (no_space) co_await work_again_when_space_is_back();
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
    // While the disk is full nothing new is accepted (the journal could not take it either).
    while (!stopping_ && !w.storage_failed &&
           (held_ >= max_held_ || w.window.size() >= settings_.reorder_window || storage_.full())) {
      co_await work_changed_.wait(storage_.full() ? std::chrono::seconds(1) : std::chrono::hours(24));
    }
    if (stopping_) {
      w.interrupted = true;
      co_return;
    }
    if (w.storage_failed) co_return;  // the file is worked again from the start
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
      // Also in the outcome record; a file of a million lines with the same stray field
      // must not write a million log lines.
      if (auto skipped = request_warning_log_.allow(clock_.now())) {
        log::warn("{} line {}: {}{}", w.file.original_name, request.line, join_warnings(request.warnings),
                  log::Limiter::note(*skipped));
      }
    }
    w.window.push_back(slot);
    ++held_;
    ++w.running;
    events_.request_accepted();
    events_.inflight_changed(held_);
    auto shared_request = std::make_shared<spool::JobRequest>(std::move(request));
    asio::co_spawn(executor_, run_request(std::move(shared_request), slot, w, request_id_given),
                   [](std::exception_ptr e) { log_escape(e, "submission"); });
  };

  try {
    if (w.file.kind == spool::InputKind::unreadable) {
      reject(0, 0, 0, w.file.original_name + " " + w.file.reject_reason);
    } else {
      spool::OpenedInput opened = spool::open_input(w.file.active_path.string());
      w.input = UniqueFd(opened.fd);
      if (!opened.refusal.empty()) {
        reject(0, 0, 0, opened.refusal);
      } else {
        spool::RequestSource source(w.input.get(), w.file.kind, opened.size, settings_.max_request_bytes,
                                    *parser_);
        while (!stopping_ && !w.storage_failed) {
          auto item = source.next();
          if (!item) break;
          if (auto* why = std::get_if<std::string>(&item->parsed)) {
            reject(item->line, item->offset, item->length, std::move(*why));
          } else {
            co_await admit(std::get<spool::JobRequest>(std::move(item->parsed)), item->offset, item->length);
          }
        }
        if (stopping_) w.interrupted = true;
      }
    }
  } catch (const std::exception& e) {
    if (note_write_failure("write an outcome", e)) {
      w.storage_failed = true;
    } else {
      log::error("reading {} failed: {}; the file stays in active/", w.file.original_name, e.what());
      w.interrupted = true;
    }
  }

  while (w.running > 0) co_await work_changed_.wait();
  if (w.storage_failed && !stopping_) {
    work.reset();  // closes and deletes the partial outcome and retry files
    co_await work_again_when_space_is_back();
    co_return;
  }
  if (w.interrupted || !w.window.empty()) {
    log::info("{} interrupted; it stays in active/ and is resumed at the next start", w.file.original_name);
    co_return;
  }
  // The requests' finishes are durable before the file is placed or held: once its outcome
  // is in done/, a lookup by requestId (GET /v1/jobs/{id}) must say so too, and a restart
  // trusts a held file's journal rows (and followed rows) to be complete. The wait is at
  // most one group commit window, per file.
  co_await journal_.flush();
  if (settings_.follow.enabled && w.jobs_run > 0) {
    // Job following: the file waits in active/ until every job it started has ended.
    bool held = false;
    try {
      w.writer.hold();
      held = true;
    } catch (const std::exception& e) {
      no_space = note_write_failure("hold an outcome file", e);
      if (!no_space) log::error("cannot hold the outcome of {}: {}; it stays in active/", w.file.original_name, e.what());
    }
    if (held) {
      log::info("{}: {} submitted, {} failed; following {} jobs to their end", w.file.original_name, w.submitted,
                w.failed, w.jobs_run);
      work.reset();
      hold_file(claimed);
    } else if (no_space) {
      work.reset();
      co_await work_again_when_space_is_back();
    }
    co_return;
  }
  bool placed_ok = false;
  try {
    auto placed = w.writer.finish();
    placed_ok = true;
    journal_.forget_claim(w.file.claim_id);  // the outcome file now holds what the journal did
    log::info("{}: {} submitted, {} failed -> {}", w.file.original_name, w.submitted, w.failed,
              placed.input.parent_path().filename().string() + "/" + placed.input.filename().string());
  } catch (const std::exception& e) {
    no_space = note_write_failure("place an outcome file", e);
    if (!no_space) {
      log::error("cannot place {} in done/ or failed/: {}; it stays in active/", w.file.original_name, e.what());
    }
  }
  if (!placed_ok && no_space) {
    work.reset();
    co_await work_again_when_space_is_back();
  }
}

}  // namespace submitd::submit
