// Role: the control hooks and the status snapshot (see control_hooks.hpp).
#include "control_hooks.hpp"

#include "api/https_pool.hpp"
#include "api/token_cache.hpp"
#include "journal/journal.hpp"
#include "spool/request_identity.hpp"
#include "submit/engine.hpp"

#include <cmath>

namespace submitd {

namespace {

control::AbortAnswer abort_answer_of(submit::AbortResult result) {
  using From = submit::AbortResult::Kind;
  using To = control::AbortAnswer::Kind;
  control::AbortAnswer answer;
  switch (result.kind) {
    case From::requested:
      answer.kind = To::requested;
      break;
    case From::already_ended:
      answer.kind = To::already_ended;
      break;
    case From::not_followed:
      answer.kind = To::not_followed;
      break;
    case From::unknown:
      answer.kind = To::unknown;
      break;
  }
  answer.job_id = std::move(result.job_id);
  answer.message = std::move(result.message);
  return answer;
}

// Where an unfinished request is now. Not in the scheduler's list: accepted before a restart
// and not worked yet (its file held, or waiting its turn).
void answer_live_state(const submit::Engine& engine, const std::string& claim_id, control::RequestLookup& answer) {
  if (const auto* live = engine.scheduler().live().find(answer.job_id)) {
    answer.state = submit::live_state_name(live->state());
    if (live->state() == submit::LiveState::deferred) {
      answer.retry_reason = live->reason();
      answer.next_retry = live->next_try();
    }
    return;
  }
  answer.state = engine.held(claim_id) ? "held" : engine.scheduler().paused() ? "paused" : "queued";
}

}  // namespace

namespace {
void account_rate_status(const submit::AdaptiveRate& rate, bool adaptive, control::DaemonStatus& st) {
  const MonoTime now = std::chrono::steady_clock::now();
  st.rate_adaptive = adaptive;
  st.rate_limit = std::isfinite(rate.rate()) ? rate.rate() : 0;
  st.rate_reason = submit::reason_name(rate.last_change());
  st.rate_changed_s_ago = rate.last_change_at() == MonoTime{} ? 0 : std::chrono::duration<double>(now - rate.last_change_at()).count();
  st.rate_held_s = rate.holding(now) ? std::chrono::duration<double>(rate.held_until() - now).count() : 0;
}
}  // namespace

control::DaemonStatus daemon_status(const DaemonParts& parts) {
  const submit::Engine& engine = parts.engine;
  control::DaemonStatus st;
  st.version = SUBMITD_VERSION;
  st.backlog_files = engine.spool().backlog_files();
  st.oldest_waiting_age_s = engine.spool().oldest_waiting_age_s();
  st.spool_watched = engine.spool().watching();
  st.spool_problem = engine.spool().incoming_problem();
  st.unclaimable_files = engine.spool().unclaimable_files();
  st.inflight = engine.scheduler().accepted();
  st.paused = engine.scheduler().paused();
  st.active_files = engine.files().working();
  st.force_test_jobs = parts.settings.submit.force_test_jobs;
  st.max_jobs_per_minute = parts.settings.submit.max_jobs_per_minute;
  auto journal = parts.journal.stats();
  st.journal_ok = !journal.stalled;
  st.journal_error = journal.last_error;
  st.storage_full = engine.storage().full();
  st.storage_problem = engine.storage().reason();
  st.follow_enabled = parts.settings.follow.enabled;
  st.followed_jobs = engine.follower().followed_jobs();
  st.files_waiting = engine.follower().files_waiting();
  st.downloading_jobs = engine.follower().downloading_jobs();
  st.token_held = parts.tokens.has_token();
  st.api_connections = parts.pool.open_connections();
  // A token endpoint answering 200 with no usable token is not the API answering.
  const bool grant_unusable = parts.tokens.grant_unusable();
  st.api_answering = parts.api_health.answering() && !grant_unusable;
  st.api_trouble = grant_unusable ? "the token endpoint answers 200 without a usable token"
                                  : parts.api_health.trouble();
  account_rate_status(engine.scheduler().account_rate(), parts.settings.api.adaptive, st);
  if (const auto* source = engine.jetstream()) {
    const auto loop = source->status();
    st.jetstream = control::JetStreamStatus{source->stream(), parts.settings.jetstream.consumer, loop.connected,
                                            loop.last_error, loop.held, source->working(), loop.pending,
                                            loop.ack_pending, source->fleet_members(),
                                            source->finals_publishing()};
  }
  return st;
}

control::ControlHooks make_control_hooks(const DaemonParts& parts) {
  control::ControlHooks hooks;
  hooks.status = [parts] { return daemon_status(parts); };
  hooks.store = [&engine = parts.engine](std::string content, const std::string& name,
                                         control::ControlHooks::Stored done) {
    engine.posts().accept(std::move(content), name, std::move(done));
  };
  hooks.job_id = [&job_namespace = parts.job_namespace](const std::string& claim_id,
                                                        std::uint64_t line) {
    return spool::job_id_for(job_namespace, claim_id, line);
  };
  hooks.lookup = [&journal = parts.journal, &engine = parts.engine](
                     const std::string& request_id) -> std::optional<control::RequestLookup> {
    auto found = journal.lookup(request_id);
    if (!found) return std::nullopt;
    control::RequestLookup answer{found->job_id, found->finished, found->outcome_line};
    if (!found->finished) answer_live_state(engine, found->claim_id, answer);
    return answer;
  };
  hooks.set_paused = [&engine = parts.engine](bool paused) {
    engine.scheduler().set_paused(paused);
  };
  hooks.abort = [&engine = parts.engine](const std::string& request_id) {
    return abort_answer_of(engine.abort(request_id));
  };
  hooks.queue = [&engine = parts.engine](std::size_t incoming_limit) { return engine.queue(incoming_limit); };
  hooks.file_action = [&engine = parts.engine](std::string_view verb, const std::string& file, bool abort_running) {
    if (verb == "hold") return engine.hold(file);
    if (verb == "release") return engine.release(file);
    if (verb == "cancel") return engine.cancel(file, abort_running);
    return engine.requeue(file);
  };
  hooks.retry_now = [&engine = parts.engine] { return engine.retry_now(); };
  return hooks;
}

}  // namespace submitd
