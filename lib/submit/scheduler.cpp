// Role: the scheduler (see scheduler.hpp): a request's way through the API. The decisions are
// JobSubmission's, the pacer's and request_rules'; this is the Asio around them.
#include "submit/scheduler.hpp"

#include <boost/asio/co_spawn.hpp>

#include <cmath>

#include "submit/request_rules.hpp"
#include "submit/retry_policy.hpp"
#include "util/durable_fs.hpp"
#include "util/log.hpp"

namespace submitd::submit {
namespace asio = boost::asio;
using spool::SubmitStatus;

namespace {

std::int64_t unix_ms(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string_view accept_verdict_name(journal::AcceptVerdict::Kind kind) {
  using Kind = journal::AcceptVerdict::Kind;
  switch (kind) {
    case Kind::fresh: return "new";
    case Kind::resumed: return "resumed after a restart";
    case Kind::finished: return "finished before a restart";
    case Kind::duplicate: return "a duplicate";
  }
  return "new";
}

AdaptiveRateSettings account_rate_settings(const SchedulerSettings& s) {
  AdaptiveRateSettings a;
  a.enabled = s.adaptive;
  a.ceiling = s.rate_limit_per_second;
  return a;
}

}  // namespace

Scheduler::Scheduler(asio::any_io_executor executor, SchedulerSettings settings, api::ApiClient& api,
                     journal::Journal& journal, JobPaths job_paths, const FileControls& controls, const Clock& clock,
                     SubmitEvents& events)
    : executor_(executor),
      settings_(std::move(settings)),
      api_(api),
      journal_(journal),
      job_paths_(std::move(job_paths)),
      clock_(clock),
      controls_(controls),
      events_(events),
      rng_(std::random_device{}()),
      max_accepted_(settings_.max_accepted > 0 ? settings_.max_accepted : 4 * settings_.max_inflight),
      inflight_places_(executor, settings_.max_inflight),
      upload_places_(executor, std::max<std::size_t>(1, settings_.max_uploads)),
      pacer_(account_rate_settings(settings_), RetryBudget(settings_.retry_budget),
             // Burst of one: a cap on cost should not allow a minute's worth at once.
             RateLimiter(settings_.max_jobs_per_minute / 60.0, 1)),
      sleepers_(executor),
      unpaced_(executor),
      resumed_(executor) {}

void Scheduler::stop() {
  stopping_ = true;
  sleepers_.wake_all();
  unpaced_.wake_all();
  resumed_.wake_all();
  inflight_places_.close();
  upload_places_.close();
}

void Scheduler::apply_live_settings(double rate_limit_per_second, RetryBudgetSettings budget, RetryTiming timing) {
  settings_.rate_limit_per_second = rate_limit_per_second;
  settings_.retry_budget = budget;
  settings_.submission.timing = timing;
  pacer_.replace_call_rules(rate_limit_per_second, RetryBudget(budget), clock_.now());
  report_account_rate();
}

void Scheduler::load_pause() {
  paused_ = std::filesystem::exists(settings_.pause_marker);
  events_.paused_changed(paused_);
  if (paused_) log::warn("starting paused (state/paused exists): nothing is sent to the API until resume");
}

void Scheduler::set_paused(bool paused) {
  const auto& marker = settings_.pause_marker;
  if (paused) {
    write_file_durably(marker, "paused by the control socket; POST /v1/resume (or bytenite-submit resume) ends it\n", 0640);
  } else {
    std::error_code ec;
    std::filesystem::remove(marker, ec);
    if (ec) throw std::system_error(ec, "remove " + marker.string());
    fsync_dir(marker.parent_path());
  }
  if (paused_ == paused) return;
  paused_ = paused;
  log::info("{}", paused ? "paused: intake goes on, nothing is sent to the API until resume"
                         : "resumed: submitting again");
  events_.paused_changed(paused);
  if (!paused) resumed_.wake_all();
}

void Scheduler::accepted_changed(int by) {
  if (by > 0) {
    ++accepted_;
    events_.request_accepted();
  } else {
    --accepted_;
  }
  events_.inflight_changed(accepted_);
}

void Scheduler::log_escaped(std::exception_ptr e) { log::escaped(e, "submission"); }

void Scheduler::trace_answer(const JobSubmission& submission, const Ticket& ticket, api::Endpoint endpoint,
                             const api::ApiReply& reply) {
  if (!log::enabled(log::Level::debug)) return;
  log::event_line(log::Level::debug,
                  {.message_id = log::event::request_trace, .request_id = ticket.request->request_id,
                   .job_id = submission.job_id(), .claim_id = ticket.claim_id, .stage = api::endpoint_name(endpoint),
                   .http_status = reply.http.status},
                  "request {} (job {}): {} answered {}", ticket.request->request_id, submission.job_id(),
                  api::endpoint_name(endpoint), reply.http.has_response() ? std::to_string(reply.http.status)
                                                                           : std::string("nothing (transport failure)"));
}

asio::awaitable<bool> Scheduler::wait_outside(WaitLine& wakeup, std::chrono::nanoseconds delay, bool& holding_place,
                                              LiveRequest& live) {
  inflight_places_.release();
  holding_place = false;
  co_await wakeup.wait_for(delay);
  live.set(LiveState::queued);
  holding_place = co_await inflight_places_.acquire();
  co_return holding_place;
}

asio::awaitable<bool> Scheduler::wait_while_parked(const JobSubmission& submission, const Ticket& ticket,
                                                   LiveRequest& live, bool& holding_place) {
  const auto parked = [&] {
    return !stopping_ && !abort_requested_.count(submission.job_id()) && !controls_.cancelled(ticket.claim_id) &&
           (paused_ || controls_.held(ticket.claim_id));
  };
  while (parked()) {
    const bool held = controls_.held(ticket.claim_id);
    live.set(held ? LiveState::held : LiveState::paused);
    if (held) {
      ++held_parked_;
      if (room_made_) room_made_();
    }
    const bool ok = co_await wait_outside(resumed_, std::chrono::hours(24 * 365), holding_place, live);
    if (held) --held_parked_;
    if (!ok) co_return false;
  }
  co_return !stopping_;
}

bool Scheduler::stopped_before_run(JobSubmission& submission, const Ticket& ticket) {
  const bool cancelled = controls_.cancelled(ticket.claim_id);
  if (!cancelled && !abort_requested_.count(submission.job_id())) return false;
  auto verdict = cancelled ? submission.abort_before_run("cancelled by the operator before it was run "
                                                         "(bytenite-submit cancel)", "cancelled")
                           : submission.abort_before_run("aborted on request before it was run "
                                                         "(POST /v1/jobs/{requestId}/abort)");
  using Verdict = JobSubmission::AbortBeforeRun;
  if (verdict == Verdict::abandoned_with_draft) send_abort(submission.job_id());
  return verdict == Verdict::abandoned || verdict == Verdict::abandoned_with_draft;
}

void Scheduler::log_deferral(const JobSubmission& submission, const Ticket& ticket, const api::HttpCall& call,
                             const api::ApiReply& reply, std::chrono::milliseconds delay) {
  const std::string reason = retry_reason(reply);
  events_.retry_scheduled(call.endpoint, reason);
  // Said loudly, but at most every 10 s: during an outage thousands of requests would
  // otherwise each log the same line.
  if (auto skipped = deferral_log_.allow(clock_.now())) {
    log::event_line(log::Level::warning, {.message_id = log::event::api_deferring, .http_status = reply.http.status},
                    "API trouble, deferring requests: {}{}", describe_failure(reply), log::Limiter::note(*skipped));
  }
  log::event_line(log::Level::debug,
                  {.message_id = log::event::request_trace, .request_id = ticket.request->request_id,
                   .job_id = submission.job_id(), .claim_id = ticket.claim_id, .stage = api::endpoint_name(call.endpoint),
                   .http_status = reply.http.status},
                  "job {}: {} deferred for {} ms ({})", submission.job_id(), api::endpoint_name(call.endpoint),
                  delay.count(), reason);
}

asio::awaitable<bool> Scheduler::drive(JobSubmission& submission, const Ticket& ticket, LiveRequest& live,
                                       bool& holding_place) {
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  bool retry = false;
  bool budgeted_retry = false;
  bool charged = false;  // the budget and the cost cap took this call's share; only the rate is asked again
  bool recap = false;    // ... and the cost cap too: its rate was cut since (a fleet's new member)
  while (!submission.finished()) {
    // A request that must wait (pause, hold, pacing, backoff) gives its in-flight place to
    // another and queues for one again afterwards, behind new work: waiting retries never
    // starve it.
    if (!co_await wait_while_parked(submission, ticket, live, holding_place)) co_return false;
    if (stopped_before_run(submission, ticket)) co_return true;
    if (submission.stage() == Stage::upload) {
      if (!co_await upload(submission, ticket, live, holding_place)) co_return false;
      continue;
    }
    // A run starts a job: the cost cap (submit.max_jobs_per_minute) applies to it; reading a
    // job (check_run) is not capped.
    auto admission = charged ? pacer_.readmit(clock_.now(), recap)
                             : pacer_.admit(budgeted_retry, submission.stage() == Stage::run, clock_.now());
    if (admission.wait.count() > 0) {
      events_.call_paced(paced_label(admission.by));
      if (!co_await wait_outside(line_for(admission), admission.wait, holding_place, live)) co_return false;
    }
    if (!admission.granted) continue;  // no permit yet: ask again at the rate of now
    charged = pacer_.outdated(admission);
    recap = pacer_.cap_outdated(admission);
    if (charged) continue;  // the rate was cut or a hold began while it waited: ask again
    api::HttpCall call = submission.current_call();
    const MonoTime sent_at = clock_.now();
    pacer_.sent(sent_at);
    live.set(LiveState::in_flight);
    api::ApiReply reply = co_await api_.send(std::move(call));  // only call.endpoint is read after
    live.set(LiveState::queued);
    account_answered(reply, sent_at, jitter(rng_));
    trace_answer(submission, ticket, call.endpoint, reply);
    const Stage before = submission.stage();
    auto step = submission.on_reply(reply, clock_.now(), clock_.wall_now(), jitter(rng_));
    retry = step.kind == JobSubmission::Step::Kind::wait;
    // A 429 is the account asking to slow down, which the adaptive rate (and the hold of its
    // Retry-After) does: its retry does not also draw on the retry budget, which is there for
    // failures (else the retries of a limit's refusals trickle at the budget's floor).
    budgeted_retry = retry && !(settings_.adaptive && reply.http.status == 429);
    // Progress is journaled without waiting: if it is lost, recovery reads the job instead.
    // Only "configured" changes what recovery does (read the job, then at most run it).
    if (before != Stage::run && submission.stage() == Stage::run) {
      journal_.progress(ticket.claim_id, ticket.record.line, journal::Step::configured);
    }
    if (retry) {
      log_deferral(submission, ticket, call, reply, step.delay);
      live.defer(retry_reason(reply), clock_.wall_now() + step.delay);
      if (!co_await wait_outside(sleepers_, step.delay, holding_place, live)) co_return false;
    }
    if (submission.finished() && submission.draft_left()) send_abort(submission.job_id());
  }
  co_return true;
}

asio::awaitable<RequestEnd> Scheduler::run(Ticket ticket) {
  RequestEnd end;
  end.record = std::move(ticket.record);
  const spool::JobRequest& req = *ticket.request;
  journal::Accept acceptance{ticket.claim_id, req.line, req.request_id, ticket.request_id_given, end.record.job_id,
                             unix_ms(clock_.wall_now())};
  // Durable before any API call: a crash from here on finds the request in the journal, and
  // its requestId is claimed against duplicates.
  journal::AcceptVerdict verdict = co_await journal_.accept(acceptance);
  // Built when used: a duplicate's job_id changes below.
  const auto trace = [&] {
    return log::Fields{.message_id = log::event::request_trace, .request_id = req.request_id,
                       .job_id = end.record.job_id, .claim_id = ticket.claim_id};
  };
  log::event_line(log::Level::debug, trace(), "request {} (line {} of claim {}) accepted as job {}: {}",
                  req.request_id, req.line, ticket.claim_id, end.record.job_id, accept_verdict_name(verdict.kind));
  bool holding_place = false;
  using Kind = journal::AcceptVerdict::Kind;
  if (verdict.kind == Kind::finished) {
    // Finished before a restart: its outcome stands; nothing is sent again.
    end.outcome_line = std::move(verdict.outcome_line);
    end.record.status = static_cast<SubmitStatus>(verdict.status);
    end.completed = true;
  } else if (verdict.kind == Kind::duplicate) {
    end.record.status = SubmitStatus::duplicate;
    end.record.job_id = verdict.earlier_job_id;
    end.record.attempts = 0;
    end.completed = true;
    if (auto skipped = duplicate_log_.allow(clock_.now())) {
      log::event_line(log::Level::info,
                      {.message_id = log::event::request_duplicate, .request_id = req.request_id,
                       .job_id = verdict.earlier_job_id, .claim_id = ticket.claim_id},
                      "request {} is a duplicate of job {} (requestId accepted before){}", req.request_id,
                      verdict.earlier_job_id, log::Limiter::note(*skipped));
    }
  } else {
    using Resume = JobSubmission::Resume;
    Resume resume = Resume::none;
    if (verdict.kind == Kind::resumed) {
      resume = verdict.step == journal::Step::configured ? Resume::configured
               : verdict.step == journal::Step::uploaded ? Resume::uploaded
                                                          : Resume::unknown;
    } else if ((ticket.recovered && journal_.created()) || ticket.delivered_before) {
      resume = Resume::unknown;  // no journal from before, or from elsewhere: calls may have gone out
    }
    JobSubmission submission(req, end.record.job_id, job_paths_, settings_.submission, ticket.accepted_mono, resume);
    LiveRequest live(live_, submission.job_id(), ticket.claim_id);
    try {
      // The in-flight place is taken only now: waiting for the journal's commit is not API
      // work, and holding a place through it would idle the pipeline.
      holding_place = co_await inflight_places_.acquire();
      if (holding_place) end.completed = co_await drive(submission, ticket, live, holding_place);
    } catch (const std::exception& e) {
      log::error("job {}: submission stopped by an exception: {}", submission.job_id(), e.what());
    }
    end.record.status = submission.status();
    end.record.attempts = submission.attempts();
    end.record.error = submission.error();
    end.record.upload = submission.upload();
  }
  end.record.finished_at = clock_.wall_now();
  if (end.completed && end.outcome_line.empty()) journal_end(ticket, end);
  log::event_line(log::Level::debug, trace(), "request {} (job {}) {}: {}", req.request_id, end.record.job_id,
                  end.completed ? "ended" : "interrupted", spool::status_name(end.record.status));
  const bool abort_wanted = abort_requested_.erase(end.record.job_id) > 0 || controls_.aborts_running(ticket.claim_id);
  if (abort_wanted && end.completed && end.record.status == SubmitStatus::submitted) {
    send_abort(end.record.job_id);  // the abort came while the run was on its way: the job runs
  }
  if (holding_place) inflight_places_.release();
  co_return end;
}

void Scheduler::journal_end(const Ticket& ticket, RequestEnd& end) {
  const auto& record = end.record;
  auto stage = record.error ? std::string_view(record.error->stage) : "";
  events_.request_finished(record.status, stage, clock_.now() - ticket.accepted_mono);
  if (record.error) {
    // At most a burst per interval: a million-line file against a refused template must not
    // write a million lines (its outcome file has every one; its placing line the count).
    if (auto skipped = failure_log_.allow(clock_.now())) {
      log::event_line(log::Level::info,
                      {.message_id = log::event::request_failed, .request_id = record.request_id,
                       .job_id = record.job_id, .claim_id = ticket.claim_id, .stage = record.error->stage,
                       .http_status = record.error->http_status},
                      "request {} (job {}) failed at {}: {}{}", record.request_id, record.job_id,
                      record.error->stage, record.error->message, log::Limiter::note(*skipped));
    }
  }
  journal::Finish finish{ticket.claim_id, record.line, spool::outcome_json_line(record), static_cast<int>(record.status),
                         std::nullopt, record.job_id};
  switch (request_id_fate(ticket.request_id_given, record.status, record.error)) {
    case RequestIdFate::release: finish.release_request_id = record.request_id; break;
    case RequestIdFate::keep: finish.keep_for_request_id = record.request_id; break;
    case RequestIdFate::none: break;
  }
  if (settings_.follow.enabled && record.status == SubmitStatus::submitted) {
    const WallTime give_up_at = follow_give_up_at(clock_.wall_now(), ticket.request->config_json,
                                                  settings_.follow.default_job_timeout, settings_.follow.give_up_margin);
    finish.follow_deadline_ms = unix_ms(give_up_at);
    if (followed_) followed_(FollowedJob{record.job_id, ticket.claim_id, record.line, give_up_at, {}, record.request_id});
  }
  end.outcome_line = finish.outcome_line;
  journal_.finish(std::move(finish));
}

void Scheduler::account_answered(const api::ApiReply& reply, MonoTime sent_at, double jitter) {
  const api::HttpResult& http = reply.http;
  const MonoTime now = clock_.now();
  const auto signal = reply.token_unavailable
                          ? CallSignal::other  // the token exchange's trouble, not this call's
                          : call_signal(http.status, http.failure == api::TransportFailure::timeout, !http.has_response());
  std::chrono::milliseconds wait{0};
  if (!http.retry_after.empty()) {
    wait = retry_after_delay(http.retry_after, clock_.wall_now(), settings_.submission.timing.retry_after_cap);
  }
  const MonoTime held_before = pacer_.account().held_until();
  pacer_.answered(signal, now - sent_at, wait, jitter, now);
  const MonoTime held = pacer_.account().held_until();
  if (held > held_before) {
    events_.account_held(std::chrono::duration<double>(held - std::max(held_before, now)).count());
  }
  report_account_rate();
}

void Scheduler::report_account_rate() {
  const double rate = pacer_.account().rate();
  if (rate == reported_rate_) return;
  // Calls refused a permit ask again as soon as the rate rises, not a quarter second later:
  // while the start doubles the rate every few round trips, they would sleep through most of it.
  if (rate > reported_rate_) unpaced_.wake_all();
  reported_rate_ = rate;
  events_.account_rate_changed(std::isfinite(rate) ? rate : 0);
}

}  // namespace submitd::submit
