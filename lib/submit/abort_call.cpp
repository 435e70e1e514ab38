// Role: the abort call and the abort-by-requestId decision (see abort_call.hpp).
#include "submit/abort_call.hpp"

#include "spool/outcome.hpp"

namespace submitd::submit {

AbortCall::AbortCall(std::string job_id, const JobPaths& paths, RetryTiming timing)
    : job_id_(std::move(job_id)), target_(paths.customer_prefix + "/jobs/" + job_id_ + "/abort"), timing_(timing) {}

api::HttpCall AbortCall::call() const {
  api::HttpCall call;
  call.endpoint = api::Endpoint::abort;
  call.method = api::Method::post;
  call.target = target_;
  call.body = "{}";
  call.replay_safe = true;  // aborting twice is aborting once
  return call;
}

AbortCall::Step AbortCall::on_reply(const api::ApiReply& reply, WallTime now, double jitter) {
  ++attempts_;
  switch (classify(reply)) {
    case Verdict::success: result_ = Result::sent; return {};
    case Verdict::final_failure: result_ = Result::refused; return {};
    case Verdict::transient: break;
  }
  if (attempts_ >= kMaxAttempts) {
    result_ = Result::gave_up;
    return {};
  }
  return {true, transient_delay(timing_, attempts_, reply, now, jitter)};
}

AbortPlan plan_abort(const std::optional<journal::JournalStore::Lookup>& found, bool following) {
  AbortPlan plan;
  if (!found) return plan;  // unknown
  plan.answer.job_id = found->job_id;
  using Kind = AbortResult::Kind;
  if (!found->finished) {
    plan.action = AbortPlan::Action::stop_before_run;
    plan.answer.kind = Kind::requested;
    plan.answer.message = "the request will not be run; if it is being run now, its job is aborted";
    return plan;
  }
  const spool::ParsedOutcome outcome = spool::parse_outcome_line(found->outcome_line);
  const std::string& status = outcome.status;
  if (status != "submitted") {
    plan.answer.kind = Kind::already_ended;
    plan.answer.message = "nothing to abort: its submission ended " + (status.empty() ? std::string("unknown") : status);
    return plan;
  }
  if (outcome.has_final) {
    const std::string state = outcome.final_state.empty() ? "unknown" : outcome.final_state;
    plan.answer.kind = Kind::already_ended;
    plan.answer.message = "nothing to abort: its job already ended (" + state + ")";
    return plan;
  }
  plan.action = AbortPlan::Action::send_abort;
  if (following) {
    plan.answer.kind = Kind::requested;
    plan.answer.message = "abort sent to the API; the job's final state shows once it has ended";
  } else {
    plan.answer.kind = Kind::not_followed;
    plan.answer.message = "abort sent to the API; job following is off, so its end is not recorded here";
  }
  return plan;
}

}  // namespace submitd::submit
