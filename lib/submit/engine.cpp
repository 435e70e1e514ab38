// Role: the submission engine's wiring, start and stop (see engine.hpp).
#include "submit/engine.hpp"

#include <boost/asio/co_spawn.hpp>

#include "util/log.hpp"

namespace submitd::submit {
namespace asio = boost::asio;

namespace {

SchedulerSettings with_follow(SchedulerSettings s, const FollowSettings& follow) {
  s.follow = follow;
  return s;
}

FileRunnerSettings with_follow(FileRunnerSettings s, const FollowSettings& follow) {
  s.following = follow.enabled;
  return s;
}

}  // namespace

Engine::Engine(asio::any_io_executor executor, const spool::SpoolPaths& paths, EngineSettings settings,
               api::ApiClient& api, journal::Journal& journal, JobPaths job_paths, Uuid job_namespace,
               const Clock& clock, SubmitEvents& events)
    : executor_(executor),
      paths_(paths),
      journal_(journal),
      controls_(settings.file_controls),
      work_changed_(executor),
      storage_(paths, settings.storage, journal, clock, events, work_changed_),
      scheduler_(executor, with_follow(settings.scheduler, settings.follow), api, journal, job_paths, controls_, clock,
                 events),
      follower_(executor, paths, settings.follow, api, journal, storage_, job_paths, clock, events),
      files_(executor, paths, with_follow(settings.files, settings.follow), scheduler_, journal, storage_, controls_,
             job_namespace, clock, events, work_changed_),
      spool_(executor, paths, settings.spool, files_, storage_, journal, clock, events, work_changed_),
      posts_(executor, paths, files_, storage_, [this] { spool_.note_arrival(); }) {
  if (settings.jetstream) {
    settings.jetstream->following = settings.follow.enabled;
    jetstream_ = std::make_unique<JetStreamSource>(executor, std::move(*settings.jetstream), scheduler_, journal,
                                                  clock, events, events);
  }
  follower_.on_other_claim([this](const std::string& claim) { return jetstream_ && jetstream_->take_job_end(claim); });
  scheduler_.on_submitted([this](FollowedJob job) { follower_.follow(std::move(job)); });
  files_.on_hold([this](spool::ClaimedFile file) { follower_.hold_file(std::move(file)); });
  scheduler_.on_room([this] { work_changed_.wake_all(); });
}

void Engine::stop() {
  spool_.stop();
  posts_.stop();
  if (jetstream_) jetstream_->stop();
  files_.stop();
  scheduler_.stop();
  follower_.stop();
  work_changed_.wake_all();
}

void Engine::resume_interrupted() {
  auto recovered = spool::recover_claims(paths_);
  // Records of files no longer in active/ (placed, but the crash came before the journal
  // forgot them) are compaction leftovers.
  std::vector<std::string> live;
  // The records of messages (claim: the stream's name) go too, but for followed jobs whose
  // final records are still to be published: a message delivered again after a restart is
  // read from the API first (its delivery count says so).
  for (const auto& file : recovered) live.push_back(file.claim_id);
  const bool messages_followed = jetstream_ && follower_.enabled();
  if (messages_followed) live.push_back(jetstream_->stream());
  try {
    controls_.keep_only(live);
  } catch (const std::exception& e) {
    log::warn("cannot drop the holds and cancels of files no longer in active/: {}", e.what());
  }
  journal_.forget_claims_except(live);
  if (messages_followed) journal_.forget_unfollowed(jetstream_->stream(), std::nullopt);
  for (auto& file : recovered) {
    if (!file.awaiting_jobs && controls_.held(file.claim_id)) {
      log::event_line(log::Level::info, {.message_id = log::event::file_control, .claim_id = file.claim_id},
                      "{} (claim {}) is on hold: it waits until release (bytenite-submit release)",
                      file.original_name, file.claim_id);
      parked_.emplace(file.claim_id, std::move(file));
      continue;
    }
    if (!file.awaiting_jobs) {
      log::event_line(log::Level::info, {.message_id = log::event::file_resumed, .claim_id = file.claim_id},
                      "resuming interrupted file {} (claim {})", file.original_name, file.claim_id);
      files_.start(std::move(file));
      continue;
    }
    // Its jobs are followed again; or, with following turned off meanwhile, it is placed at
    // once with the ends recorded so far.
    if (follower_.enabled()) {
      log::info("following the jobs of {} again (claim {})", file.original_name, file.claim_id);
    } else {
      log::info("placing {} (claim {}) with the job ends known so far: job following is off", file.original_name,
                file.claim_id);
    }
    follower_.hold_file(std::move(file));
  }
}

asio::awaitable<void> Engine::run() {
  scheduler_.load_pause();
  for (const auto& line : controls_.load()) log::warn("file controls: an unreadable line is skipped: {}", line);
  resume_interrupted();
  asio::co_spawn(executor_, follower_.run(), [](std::exception_ptr e) { log::escaped(e, "job following"); });
  asio::co_spawn(executor_, posts_.run(), [](std::exception_ptr e) { log::escaped(e, "posted source"); });
  if (jetstream_) {
    asio::co_spawn(executor_, jetstream_->run(), [this](std::exception_ptr e) {
      log::escaped(e, "JetStream intake");
      jetstream_ended_ = true;
      work_changed_.wake_all();
    });
  }
  co_await spool_.run();
  while (files_.working() > 0 || (jetstream_ && !jetstream_ended_)) {
    co_await work_changed_.wait_for(std::chrono::milliseconds(50));
  }
}

AbortResult Engine::abort(const std::string& request_id) {
  AbortPlan plan = plan_abort(journal_.lookup(request_id), follower_.enabled());
  switch (plan.action) {
    case AbortPlan::Action::stop_before_run: scheduler_.abort_before_run(plan.answer.job_id); break;
    case AbortPlan::Action::send_abort: scheduler_.send_abort(plan.answer.job_id); break;
    case AbortPlan::Action::none: break;
  }
  return plan.answer;
}

}  // namespace submitd::submit
