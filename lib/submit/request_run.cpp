// Role: one request's way through the API: the journal's verdict first (durable before any
// call), then the JobSubmission state machine driven call by call with pacing and backoff
// (giving up its in-flight place while it waits), then its outcome into the journal and the
// file's outcome slot. The decisions are JobSubmission's and the pacer's; this is the Asio.
#include <boost/asio/co_spawn.hpp>
#include <optional>
#include <random>

#include "submit/file_work.hpp"
#include "util/log.hpp"

namespace submitd::submit {
namespace asio = boost::asio;
using spool::SubmitStatus;

asio::awaitable<bool> SpoolService::drive(JobSubmission& submission, const std::string& claim_id,
                                          std::uint64_t line, bool& holding_inflight) {
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  // A request that must wait (pacing, backoff) gives its in-flight place to another and
  // queues for one again afterwards, behind new work: waiting retries never starve it.
  // (A pause waits the same way, on resumed_, with no deadline.)
  auto wait_outside = [&](Wakeup& wakeup, std::chrono::nanoseconds delay) -> asio::awaitable<bool> {
    inflight_places_.release();
    holding_inflight = false;
    co_await wakeup.wait(delay);
    holding_inflight = co_await inflight_places_.acquire();
    co_return holding_inflight;
  };
  bool retry = false;
  while (!submission.finished()) {
    if (stopping_) co_return false;
    while (paused_ && !stopping_ && !abort_requested_.count(submission.job_id())) {
      if (!co_await wait_outside(resumed_, std::chrono::hours(24 * 365))) co_return false;
    }
    if (stopping_) co_return false;
    if (abort_requested_.count(submission.job_id()) &&
        (submission.stage() == Stage::create || submission.stage() == Stage::datasource ||
         submission.stage() == Stage::params)) {
      // Aborted before its run: nothing more is sent but, if a draft may exist, its abort
      // (which deletes a job that never started).
      if (submission.stage() != Stage::create || submission.attempts() > 0) {
        asio::co_spawn(executor_, send_abort(submission.job_id()),
                       [](std::exception_ptr e) { log_escape(e, "abort"); });
      }
      submission.abandon("aborted on request before it was run (POST /v1/jobs/{requestId}/abort)");
      co_return true;
    }
    // A run starts a job: the cost cap (submit.max_jobs_per_minute) applies to it; reading a
    // job (check_run) is not capped. Waits are spent outside the in-flight set.
    auto admission = pacer_.admit(retry, submission.stage() == Stage::run, clock_.now());
    if (admission.wait.count() > 0) {
      events_.call_paced(paced_label(admission.by));
      if (!co_await wait_outside(sleepers_, admission.wait)) co_return false;
    }
    api::HttpCall call = submission.current_call();
    api::ApiReply reply = co_await api_.send(std::move(call));  // only call.endpoint is read after
    const Stage before = submission.stage();
    auto step = submission.on_reply(reply, clock_.now(), clock_.wall_now(), jitter(rng_));
    retry = step.kind == JobSubmission::Step::Kind::wait;
    // Progress is journaled without waiting: if it is lost, recovery reads the job instead.
    // Only "configured" changes what recovery does (read the job, then at most run it);
    // "created" would not (recovery reads the job either way), so it is not written: one
    // SQLite statement less per job (bench/README.md, the profile).
    if (before != Stage::run && submission.stage() == Stage::run) {
      journal_.progress(claim_id, line, journal::Step::configured);
    }
    if (retry) {
      const std::string reason = retry_reason(reply);
      events_.retry_scheduled(call.endpoint, reason);
      // Say loudly, but at most every 10 s, why work is being deferred: during an outage
      // thousands of requests would otherwise each log the same line.
      if (auto skipped = deferral_log_.allow(clock_.now())) {
        log::warn("API trouble, deferring requests: {}{}", describe_failure(reply), log::Limiter::note(*skipped));
      }
      log::debug("job {}: {} deferred for {} ms ({})", submission.job_id(),
                 api::endpoint_name(call.endpoint), step.delay.count(), reason);
      if (!co_await wait_outside(sleepers_, step.delay)) co_return false;
    }
  }
  co_return true;
}

// One accepted request from acceptance to outcome: the journal first (durable before any
// API call), then the API calls unless the journal already knows its fate, then its outcome
// into the journal and, in order, into the file's outcome file.
asio::awaitable<void> SpoolService::run_request(std::shared_ptr<spool::JobRequest> request,
                                                std::shared_ptr<Slot> slot, FileWork& w,
                                                bool request_id_given) {
  const spool::JobRequest& req = *request;
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
    } else if (request_id_given && slot->record.status != SubmitStatus::duplicate) {
      // The requestId stays claimed by this job: keep its outcome for lookups by requestId.
      // (A duplicate's record names the earlier job; it must not overwrite that job's.)
      finish.keep_for_request_id = req.request_id;
    }
    if (settings_.follow.enabled && slot->record.status == SubmitStatus::submitted) {
      // Followed until it ends, or until its own jobTimeout plus the margin has passed.
      const auto timeout = std::chrono::seconds(
          job_timeout_seconds(req.config_json).value_or(settings_.follow.default_job_timeout.count()));
      const WallTime give_up_at = clock_.wall_now() + timeout + settings_.follow.give_up_margin;
      finish.follow_deadline_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(give_up_at.time_since_epoch()).count();
      follow(slot->record.job_id, w.file.claim_id, req.line, give_up_at);
    }
    slot->stored_line = finish.outcome_line;
    journal_.finish(std::move(finish));
  }
  if (abort_requested_.erase(slot->record.job_id) > 0 && slot->record.status == SubmitStatus::submitted) {
    // The abort came while the run was on its way: the job runs, so abort it now.
    asio::co_spawn(executor_, send_abort(slot->record.job_id), [](std::exception_ptr e) { log_escape(e, "abort"); });
  }
  if (holding_inflight) inflight_places_.release();
  --held_;
  --w.running;
  events_.inflight_changed(held_);
  try {
    w.flush();
  } catch (const std::exception& e) {
    if (note_write_failure("write an outcome", e)) {
      w.storage_failed = true;
    } else {
      log::error("cannot write outcome for {}: {}", w.file.original_name, e.what());
      w.interrupted = true;
    }
  }
  work_changed_.notify_all();
}

}  // namespace submitd::submit
