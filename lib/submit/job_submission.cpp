// Role: one request's submission state machine (see job_submission.hpp).
#include "submit/job_submission.hpp"

#include <fmt/format.h>

#include "api/api_error.hpp"
#include "api/responses.hpp"
#include "submit/run_body.hpp"
#include "util/json_text.hpp"

namespace submitd::submit {

std::string_view stage_name(Stage s) {
  switch (s) {
    case Stage::create: return "create";
    case Stage::datasource: return "datasource";
    case Stage::upload: return "upload";
    case Stage::upload_done: return "uploadcompleted";
    case Stage::params: return "params";
    case Stage::check_run: return "run";
    case Stage::run: return "run";
    case Stage::done: return "done";
  }
  return "unknown";
}

JobSubmission::JobSubmission(spool::JobRequest request, std::string job_id, const JobPaths& paths,
                             SubmissionOptions options, MonoTime accepted, Resume resume)
    : request_(std::move(request)),
      job_id_(std::move(job_id)),
      jobs_path_(paths.customer_prefix + "/jobs"),
      job_path_(jobs_path_ + "/" + job_id_),
      options_(options),
      accepted_(accepted),
      // A recovered request may have been run before the crash: look before creating again
      // (a create on a started job is refused, and a run must never be sent twice).
      stage_(resume == Resume::none ? Stage::create : Stage::check_run),
      configured_before_(resume == Resume::configured),
      uploaded_before_(resume == Resume::uploaded) {}

Stage JobSubmission::after(Stage s) const {
  switch (s) {
    case Stage::create: return Stage::datasource;
    case Stage::datasource:
      if (!request_.input_file.empty()) return Stage::upload;
      return request_.params_json.empty() ? Stage::run : Stage::params;
    case Stage::upload: return Stage::upload_done;
    case Stage::upload_done: return request_.params_json.empty() ? Stage::run : Stage::params;
    case Stage::params: return Stage::run;
    case Stage::check_run: return Stage::run;
    case Stage::run: return Stage::done;
    case Stage::done: return Stage::done;
  }
  return Stage::done;
}

api::HttpCall JobSubmission::current_call() const {
  api::HttpCall call;
  switch (stage_) {
    case Stage::create: {
      call.endpoint = api::Endpoint::create;
      call.method = api::Method::post;
      call.target = jobs_path_;
      std::string body;
      body.reserve(96 + request_.template_id.size() + request_.name.size() + request_.request_id.size() +
                   request_.description.size());
      body += "{\"templateId\":";
      append_json_string(body, request_.template_id);
      body += ",\"name\":";
      append_json_string(body, request_.name.empty() ? request_.request_id : request_.name);
      if (!request_.description.empty()) {
        body += ",\"description\":";
        append_json_string(body, request_.description);
      }
      body += ",\"jobId\":";
      append_json_string(body, job_id_);
      body += "}";
      call.body = std::move(body);
      call.replay_safe = true;  // the jobId makes a repeated create an update
      break;
    }
    case Stage::datasource: {
      call.endpoint = api::Endpoint::datasource;
      call.method = api::Method::patch;
      call.target = job_path_ + "/datasource";
      static constexpr std::string_view kBypass = R"({"dataSourceDescriptor":"bypass"})";
      call.body = fmt::format(
          "{{\"dataSource\":{},\"dataDestination\":{}}}",
          request_.data_source_json.empty() ? kBypass : std::string_view(request_.data_source_json),
          request_.data_destination_json.empty() ? kBypass
                                                 : std::string_view(request_.data_destination_json));
      call.replay_safe = true;
      break;
    }
    case Stage::upload:
      call.endpoint = api::Endpoint::upload;
      call.method = api::Method::put;
      call.target = temp_url_;  // the whole URL: the driver sends it to its storage host
      call.file_body.size = request_.input_size;  // the driver opens the file (file_body.fd)
      call.replay_safe = true;  // a PUT replaces what an earlier one stored
      break;
    case Stage::upload_done:
      call.endpoint = api::Endpoint::upload_completed;
      call.method = api::Method::patch;
      call.target = job_path_ + "/uploadcompleted";
      call.body = "{}";
      call.replay_safe = true;
      break;
    case Stage::params:
      call.endpoint = api::Endpoint::params;
      call.method = api::Method::patch;
      call.target = job_path_ + "/params";
      call.body = request_.params_json;
      call.replay_safe = true;
      break;
    case Stage::check_run:
      call.endpoint = api::Endpoint::get;
      call.method = api::Method::get;
      call.target = job_path_;
      call.replay_safe = true;
      break;
    case Stage::run:
    case Stage::done:
      call.endpoint = api::Endpoint::run;
      call.method = api::Method::post;
      call.target = job_path_ + "/run";
      call.body = run_body(request_.config_json, options_.force_test_jobs);
      call.replay_safe = false;  // never blindly re-sent: see check_run
      break;
  }
  return call;
}

void JobSubmission::finish_failed(Stage at, int http_status, std::string message) {
  finish_failed(stage_name(at), http_status, std::move(message));
}

void JobSubmission::finish_failed(std::string_view stage_word, int http_status, std::string message) {
  status_ = spool::SubmitStatus::failed;
  error_ = spool::OutcomeError{std::string(stage_word), http_status, std::move(message)};
  stage_ = Stage::done;
}

void JobSubmission::fail_upload(std::string why) { finish_failed(Stage::upload, 0, std::move(why)); }

JobSubmission::AbortBeforeRun JobSubmission::abort_before_run(std::string message, std::string_view error_stage) {
  const std::string stage_word(error_stage.empty() ? stage_name(stage_) : error_stage);
  if (stage_ == Stage::check_run) {
    stop_when_read_.emplace(stage_word, std::move(message));
    return AbortBeforeRun::when_read;
  }
  if (stage_ == Stage::check_run || stage_ == Stage::run || stage_ == Stage::done) return AbortBeforeRun::too_late;
  // A create may have reached the API even when its answer did not come back.
  const bool draft_may_exist = stage_ != Stage::create || attempts_ > 0;
  finish_failed(stage_word, 0, std::move(message));
  return draft_may_exist ? AbortBeforeRun::abandoned_with_draft : AbortBeforeRun::abandoned;
}

JobSubmission::Step JobSubmission::on_reply(const api::ApiReply& reply, MonoTime now,
                                            WallTime wall_now, double jitter) {
  ++attempts_;
  if (stage_ == Stage::run) ++runs_sent_;
  Verdict verdict = classify(reply);
  const auto& h = reply.http;

  if (verdict == Verdict::success) {
    if (stage_ == Stage::check_run) {
      std::string state = api::job_state_from_body(h.body);
      // An answer that does not say the job's state: read it again (a run is never sent
      // blind: the job may be running), like any transient trouble.
      if (state.empty()) return defer(reply, now, wall_now, jitter);
      retries_in_row_ = 0;
      if (state != "JOB_STATE_NEW") {
        status_ = spool::SubmitStatus::submitted;  // the earlier run took
        stage_ = Stage::done;
        return {Step::Kind::finished};
      }
      if (stop_when_read_) {  // still a draft, and stopped before its run: it stays one
        draft_left_ = true;
        auto [stage_word, message] = std::move(*stop_when_read_);
        finish_failed(stage_word, 0, std::move(message));
        return {Step::Kind::finished};
      }
      // Still a draft: configure it fully again, then run. The PATCHes are idempotent, and a
      // recovered request may have stopped before them, unless the journal says it was
      // configured.
      if (runs_sent_ > 0 || configured_before_) {
        stage_ = Stage::run;
      } else {
        stage_ = uploaded_before_ ? Stage::upload_done : Stage::create;
      }
      return {Step::Kind::call};
    }
    retries_in_row_ = 0;
    if (stage_ == Stage::datasource && !request_.input_file.empty()) {
      temp_url_ = api::temp_url_from_body(h.body);
      if (temp_url_.empty()) {
        finish_failed(stage_, h.status, "the datasource answer gave no dataSource.params.tempUrl to upload the "
                                        "input to");
        return {Step::Kind::finished};
      }
    }
    stage_ = after(stage_);
    if (stage_ == Stage::done) {
      status_ = spool::SubmitStatus::submitted;
      return {Step::Kind::finished};
    }
    return {Step::Kind::call};
  }

  if (verdict == Verdict::final_failure) {
    // A recovered job that no longer exists was never created: start from create.
    if (stage_ == Stage::check_run && h.status == 404 && runs_sent_ == 0) {
      stage_ = Stage::create;
      return {Step::Kind::call};
    }
    // A run refused after an earlier run went out may be the API saying "already started":
    // read the job to learn the truth rather than failing a request that succeeded.
    if (stage_ == Stage::run && runs_sent_ > 1 && !rechecked_refused_run_) {
      rechecked_refused_run_ = true;
      stage_ = Stage::check_run;
      return {Step::Kind::call};
    }
    finish_failed(stage_, h.status, api::parse_api_error(h.status, h.body).message);
    return {Step::Kind::finished};
  }

  return defer(reply, now, wall_now, jitter);
}

JobSubmission::Step JobSubmission::defer(const api::ApiReply& reply, MonoTime now, WallTime wall_now, double jitter) {
  const auto& h = reply.http;
  // Transient: defer. Give up only after the configured age, with the last error.
  if (now - accepted_ >= options_.give_up_after) {
    finish_failed(stage_, h.has_response() ? h.status : 0,
                  "gave up after " + std::to_string(options_.give_up_after.count()) +
                      " s of transient failures; last: " + describe_failure(reply));
    return {Step::Kind::finished};
  }
  ++retries_in_row_;
  // A run that failed in transit (or with a 5xx the server may have acted on) may have taken:
  // read the job before sending it again.
  if (stage_ == Stage::run && !reply.token_unavailable) {
    stage_ = Stage::check_run;
  }
  std::chrono::milliseconds delay = transient_delay(options_.timing, retries_in_row_, reply, wall_now, jitter);
  // Never sleep past the give-up age: the request should end when its age says so.
  auto until_give_up = std::chrono::ceil<std::chrono::milliseconds>(accepted_ + options_.give_up_after - now);
  delay = std::min(delay, until_give_up);
  return {Step::Kind::wait, delay};
}

}  // namespace submitd::submit
