// Role: the state machine of one request's submission, as plain logic: which API call comes
// next (create -> datasource -> [upload -> uploadcompleted] -> params -> run), what each reply
// means, when to wait and retry, and the final outcome. A request with an inputFile PUTs it
// to the tempUrl the datasource answer gave (the driver streams the file to the storage host)
// and says so with uploadcompleted before its params and run. It never touches a socket or a timer: the async driver asks
// for the next call, performs it, and feeds the reply back, so tests drive it step by step.
//
// At most one job per request: the jobId is fixed before the first call (UUIDv5 of the claim),
// so a create retried after a lost answer updates the same job; when a run's answer is lost,
// or the request is being recovered after a crash, the job is read first and a run is only
// sent while its state is still JOB_STATE_NEW.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "api/api_client.hpp"
#include "spool/outcome.hpp"
#include "spool/request_parser.hpp"
#include "submit/retry_policy.hpp"

namespace submitd::submit {

enum class Stage { create, datasource, upload, upload_done, params, check_run, run, done };
// Outcome/metric word; check_run reports as "run", upload_done as "uploadcompleted".
std::string_view stage_name(Stage s);

struct JobPaths {
  std::string customer_prefix;  // e.g. /v1/customer
};

struct SubmissionOptions {
  RetryTiming timing;
  std::chrono::seconds give_up_after{86400};
  bool force_test_jobs = false;  // every run is sent with "isTestJob": true
};

class JobSubmission {
 public:
  struct Step {
    enum class Kind { call, wait, finished } kind = Kind::call;
    std::chrono::milliseconds delay{0};  // for wait
  };

  // How much an earlier run of the daemon may have done for this request.
  enum class Resume {
    none,        // nothing was sent for it yet: start with create
    unknown,     // calls may have been sent: read the job first
    configured,  // created and configured for sure; run may have been sent: read the job first
    // Its input was uploaded for sure: read the job first; a draft needs only uploadcompleted,
    // params and run (a job no longer new is not touched; one that is gone starts over).
    uploaded,
  };
  JobSubmission(spool::JobRequest request, std::string job_id, const JobPaths& paths,
                SubmissionOptions options, MonoTime accepted, Resume resume);

  // The call for the current stage (without the token; ApiClient adds it).
  api::HttpCall current_call() const;
  // Feeds the reply to the current call. `jitter` in [0,1).
  Step on_reply(const api::ApiReply& reply, MonoTime now, WallTime wall_now, double jitter);

  bool finished() const { return stage_ == Stage::done; }
  // At Stage::upload: the input cannot be uploaded (changed since validation, gone, an
  // unusable upload URL). The request ends failed at stage "upload" with `why`.
  void fail_upload(std::string why);
  // The upload of this run, once its PUT succeeded (for the outcome).
  void record_upload(std::uint64_t bytes, double seconds) { upload_ = spool::UploadFigures{bytes, seconds}; }
  const std::optional<spool::UploadFigures>& upload() const { return upload_; }
  // Abort (by request, or a cancel of its file). Before the run, the submission ends failed
  // with `message` at `error_stage` (empty: its current stage), and the answer says whether a
  // draft may exist (its abort then deletes it). While the job is being read before a run
  // (a recovered request), the stop is kept: a job found still new is not run but ends the
  // same way (draft_left() then says so). From the run on it is too late here: the job is
  // aborted through the API once it runs.
  enum class AbortBeforeRun { too_late, abandoned, abandoned_with_draft, when_read };
  AbortBeforeRun abort_before_run(std::string message, std::string_view error_stage = {});
  // A stop kept for the read (see abort_before_run) left a draft that its abort deletes.
  bool draft_left() const { return draft_left_; }
  Stage stage() const { return stage_; }
  int attempts() const { return attempts_; }
  spool::SubmitStatus status() const { return status_; }
  const std::optional<spool::OutcomeError>& error() const { return error_; }
  const std::string& job_id() const { return job_id_; }

 private:
  Stage after(Stage s) const;
  // Transient trouble (or a job whose state could not be read): wait and try the stage again.
  Step defer(const api::ApiReply& reply, MonoTime now, WallTime wall_now, double jitter);
  void finish_failed(Stage at, int http_status, std::string message);
  void finish_failed(std::string_view stage_word, int http_status, std::string message);

  spool::JobRequest request_;
  std::string job_id_;
  std::string jobs_path_;  // <prefix>/jobs, where a job is created
  std::string job_path_;   // <prefix>/jobs/<job id>: built once, every later call starts with it
  SubmissionOptions options_;
  MonoTime accepted_;
  Stage stage_;
  int attempts_ = 0;        // HTTP calls made for this request
  int retries_in_row_ = 0;  // consecutive transient failures, for the backoff exponent
  int runs_sent_ = 0;       // runs that went out (their answers may have been lost)
  bool rechecked_refused_run_ = false;
  bool configured_before_ = false;  // a draft found at check_run needs only its run
  bool uploaded_before_ = false;    // a draft found at check_run needs no upload again
  std::string temp_url_;            // where the input goes (the datasource answer's tempUrl)
  std::optional<spool::UploadFigures> upload_;
  std::optional<std::pair<std::string, std::string>> stop_when_read_;  // stage word, message
  bool draft_left_ = false;
  spool::SubmitStatus status_ = spool::SubmitStatus::failed;
  std::optional<spool::OutcomeError> error_;
};

}  // namespace submitd::submit
