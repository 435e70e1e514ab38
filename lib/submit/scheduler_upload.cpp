// Role: the scheduler's upload stage (issue 19): a request's inputFile streamed from disk to
// the tempUrl its datasource answer gave, before uploadcompleted. An upload can take minutes,
// so it gives its in-flight place (API work) to another request meanwhile and takes one of
// the upload places (upload.max_concurrent) instead. What the answer means (done, retry, or
// fail) is JobSubmission's, as for any call.
#include <boost/asio/co_spawn.hpp>

#include "spool/input_file.hpp"
#include "submit/retry_policy.hpp"
#include "submit/scheduler.hpp"

namespace submitd::submit {
namespace asio = boost::asio;

asio::awaitable<bool> Scheduler::upload(JobSubmission& submission, const Ticket& ticket, LiveRequest& live,
                                        bool& holding_place) {
  inflight_places_.release();
  holding_place = false;
  if (!co_await upload_places_.acquire()) co_return false;
  const api::HttpCall call = submission.current_call();
  live.set(LiveState::in_flight);
  api::ApiReply reply = co_await put_input(call, *ticket.request, submission);
  upload_places_.release();
  live.set(LiveState::queued);
  holding_place = co_await inflight_places_.acquire();
  if (!holding_place) co_return false;
  if (submission.finished()) co_return true;  // the input could not be sent at all
  trace_answer(submission, ticket, call.endpoint, reply);
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  const auto step = submission.on_reply(reply, clock_.now(), clock_.wall_now(), jitter(rng_));
  // Queued without waiting, like all progress: if it is lost, a restart uploads again (the
  // job is still new: uploadcompleted was not sent).
  if (submission.stage() == Stage::upload_done) {
    journal_.progress(ticket.claim_id, ticket.record.line, journal::Step::uploaded);
  }
  if (step.kind == JobSubmission::Step::Kind::wait) {
    log_deferral(submission, ticket, call, reply, step.delay);
    live.defer(retry_reason(reply), clock_.wall_now() + step.delay);
    if (!co_await wait_outside(sleepers_, step.delay, holding_place, live)) co_return false;
  }
  co_return true;
}

asio::awaitable<api::ApiReply> Scheduler::put_input(const api::HttpCall& call, const spool::JobRequest& request,
                                                    JobSubmission& submission) {
  api::ApiReply reply;
  if (storage_ == nullptr) {
    submission.fail_upload("uploads are not set up in this daemon");
    co_return reply;
  }
  auto url = api::parse_storage_url(call.target);
  if (auto* why = std::get_if<std::string>(&url)) {
    submission.fail_upload(*why);
    co_return reply;
  }
  auto opened = spool::reopen_unchanged(request.input_file, settings_.input_rules, request.input_size,
                                        request.input_mtime);
  if (auto* why = std::get_if<std::string>(&opened)) {
    submission.fail_upload(std::move(*why));
    co_return reply;
  }
  const auto& file = std::get<spool::OpenedInputFile>(opened);
  api::HttpCall put = call;
  put.file_body.fd = file.fd.get();
  events_.uploads_changed(++uploads_in_flight_);
  const MonoTime started = clock_.now();
  reply.http = co_await storage_->send(std::get<api::StorageUrl>(url), put);
  const double seconds = std::chrono::duration<double>(clock_.now() - started).count();
  events_.uploads_changed(--uploads_in_flight_);
  const bool ok = classify(reply) == Verdict::success;
  if (ok && !spool::unchanged_since(file.fd.get(), request.input_size, request.input_mtime)) {
    // Written to while it was read: what was stored mixes two versions. Not run.
    submission.fail_upload("inputFile changed while it was uploaded: the job was not run with a mix of old and new "
                           "bytes. Drop the request again once the file is complete");
    events_.upload_finished(false, 0, seconds);
    co_return reply;
  }
  events_.upload_finished(ok, ok ? file.size : 0, seconds);
  if (ok) submission.record_upload(file.size, seconds);
  co_return reply;
}

}  // namespace submitd::submit
