// Role: queue inspection and control on the engine (see engine.hpp and queue_control.hpp):
// the report of every file, and hold, release, cancel, requeue and retry-now carried out on
// the parts. The decisions are queue_control's; this applies them.
#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>

#include "spool/outcome.hpp"
#include "submit/engine.hpp"
#include "util/durable_fs.hpp"
#include "util/log.hpp"

namespace submitd::submit {
namespace asio = boost::asio;
using Kind = spool::FileActionResult::Kind;

namespace {

spool::FileActionResult result(Kind kind, std::string message, const std::string& claim = {},
                               const std::string& name = {}) {
  return {kind, claim, name, std::move(message)};
}

}  // namespace

void Engine::active_files(std::vector<spool::QueuedFile>& out) const {
  for (const auto& [claim, file] : parked_) {
    spool::QueuedFile f = spool::queued_file(file, spool::QueuedFileState::held);
    std::error_code ec;
    f.bytes = std::filesystem::file_size(file.active_path, ec);
    if (ec) f.bytes = 0;
    out.push_back(std::move(f));
  }
  files_.report(out);
  follower_.report(out);
}

spool::QueueReport Engine::queue(std::size_t incoming_limit) const {
  spool::QueueReport report;
  report.incoming_total = spool::list_incoming(paths_, incoming_limit, report.files);
  active_files(report.files);
  return report;
}

std::optional<spool::ClaimedFile> Engine::claim_for_action(const std::string& name, spool::FileActionResult& out) {
  std::optional<spool::ClaimedFile> claimed;
  try {
    claimed = spool::claim_file(paths_, name);
    if (claimed) {
      // Durable like any claim: the claim id (hence the jobIds) must survive a crash.
      fsync_dir(paths_.incoming);
      fsync_dir(paths_.active);
    }
  } catch (const std::exception& e) {
    out = result(Kind::failed, std::string("cannot claim it: ") + e.what(), {}, name);
    return std::nullopt;
  }
  if (!claimed) out = result(Kind::unknown, "no file by that name in incoming/ or active/", {}, name);
  return claimed;
}

spool::FileActionResult Engine::hold(const std::string& key) { return act_on_file(FileVerb::hold, key, false); }
spool::FileActionResult Engine::release(const std::string& key) { return act_on_file(FileVerb::release, key, false); }
spool::FileActionResult Engine::cancel(const std::string& key, bool abort_running) {
  return act_on_file(FileVerb::cancel, key, abort_running);
}

spool::FileActionResult Engine::act_on_file(FileVerb verb, const std::string& key, bool abort_running) {
  std::vector<spool::QueuedFile> files;
  active_files(files);
  FileKey found = resolve_file_key(key, files);
  if (found.kind == FileKey::Kind::bad) return result(Kind::bad_input, found.message);
  if (found.kind == FileKey::Kind::ambiguous) return result(Kind::conflict, found.message);
  const auto state = found.file ? found.file->state : spool::QueuedFileState::incoming;
  FilePlan plan = plan_file_action(verb, state, abort_running);
  if (found.kind == FileKey::Kind::maybe_incoming && plan.step != FileStep::claim_then_act) {
    // Nothing in active/ by that name, and this action does not claim: say what is there.
    std::error_code ec;
    const bool waiting = std::filesystem::is_regular_file(paths_.incoming / found.name, ec);
    return result(waiting ? Kind::conflict : Kind::unknown,
                  waiting ? plan.message : "no file by that name in incoming/ or active/", {}, found.name);
  }
  std::string claim = found.file ? found.file->claim_id : std::string();
  std::string name = found.file ? found.file->name : found.name;
  if (plan.step == FileStep::refuse) return result(Kind::conflict, plan.message, claim, name);
  if (plan.step == FileStep::nothing) return result(Kind::done, plan.message, claim, name);
  if (plan.step == FileStep::claim_then_act) {
    spool::FileActionResult why;
    auto claimed = claim_for_action(found.name, why);
    if (!claimed) return why;
    claim = claimed->claim_id;
    parked_.emplace(claim, std::move(*claimed));  // started below unless held
  }
  try {
    apply(verb, claim, abort_running);
  } catch (const std::exception& e) {
    // A file claimed for this action is worked as any other rather than left waiting.
    if (auto it = parked_.find(claim); it != parked_.end() && !controls_.held(claim)) {
      files_.start(std::move(it->second));
      parked_.erase(it);
    }
    return result(Kind::failed, std::string("cannot store it in the state directory: ") + e.what(), claim, name);
  }
  log::event_line(log::Level::info, {.message_id = log::event::file_control, .claim_id = claim}, "{} (claim {}): {}",
                  name, claim, plan.message);
  return result(Kind::done, plan.message, claim, name);
}

void Engine::apply(FileVerb verb, const std::string& claim_id, bool abort_running) {
  switch (verb) {
    case FileVerb::hold: controls_.hold(claim_id); break;
    case FileVerb::release: controls_.release(claim_id); break;
    case FileVerb::cancel: controls_.cancel(claim_id, abort_running); break;
  }
  if (verb != FileVerb::hold) {
    if (auto it = parked_.find(claim_id); it != parked_.end()) {
      files_.start(std::move(it->second));
      parked_.erase(it);
    }
  }
  scheduler_.file_controls_changed(verb == FileVerb::cancel);
  work_changed_.wake_all();
  if (verb == FileVerb::cancel && abort_running) {
    asio::co_spawn(executor_, abort_started_jobs(claim_id), [](std::exception_ptr e) { log::escaped(e, "cancel"); });
  }
}

asio::awaitable<void> Engine::abort_started_jobs(std::string claim_id) {
  co_await journal_.flush();  // requests that ended just before the cancel are read too
  const auto jobs = journal_.job_ids_of_claim(claim_id, static_cast<int>(spool::SubmitStatus::submitted));
  std::size_t sent = 0;
  for (const auto& job : jobs) {
    if (scheduler_.live().find(job)) continue;  // still being worked: aborted when it ends
    scheduler_.send_abort(job);
    ++sent;
  }
  log::event_line(log::Level::info, {.message_id = log::event::file_control, .claim_id = claim_id},
                  "claim {}: abort sent for {} started jobs", claim_id, sent);
}

spool::FileActionResult Engine::requeue(const std::string& path) {
  std::string why;
  auto name = requeue_name(path, why);
  if (!name) return result(Kind::bad_input, why);
  const auto from = paths_.failed / *name;
  const auto to = paths_.incoming / *name;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(std::filesystem::symlink_status(from, ec))) {
    return result(Kind::unknown, "no retry file failed/" + *name, {}, *name);
  }
  if (auto err = rename_noreplace(from, to)) {
    if (err == std::errc::file_exists) {
      return result(Kind::conflict, "incoming/" + *name + " exists already: requeue it once that one is claimed", {},
                    *name);
    }
    return result(Kind::failed, "cannot move it into incoming/: " + err.message(), {}, *name);
  }
  try {
    fsync_dir(paths_.failed);
    fsync_dir(paths_.incoming);
  } catch (const std::exception& e) {
    log::warn("requeue of {}: {}", *name, e.what());  // moved; durable at the next sync
  }
  work_changed_.wake_all();
  log::info("failed/{} requeued into incoming/", *name);
  return result(Kind::done, "requeued: incoming/" + *name + " is claimed like any drop", {}, *name);
}

std::size_t Engine::retry_now() {
  const std::size_t deferred = scheduler_.live().count(LiveState::deferred);
  scheduler_.retry_waiting_now();
  log::info("retry-now: {} deferred requests try again now", deferred);
  return deferred;
}

}  // namespace submitd::submit
