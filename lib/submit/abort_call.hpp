// Role: aborting a job through the API, as plain logic: the abort call, what each reply
// means, and how long to wait before trying again (the retry policy's backoff, like every
// other call), at most kMaxAttempts. Also the decision an abort by requestId takes from what
// the journal knows: stop it before its run, send the API's abort, or nothing to abort.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "api/api_client.hpp"
#include "journal/journal_store.hpp"
#include "submit/job_submission.hpp"
#include "submit/retry_policy.hpp"

namespace submitd::submit {

class AbortCall {
 public:
  static constexpr int kMaxAttempts = 5;
  enum class Result { pending, sent, refused, gave_up };
  struct Step {
    bool again = false;  // try again after `delay`
    std::chrono::milliseconds delay{0};
  };

  AbortCall(std::string job_id, const JobPaths& paths, RetryTiming timing);
  api::HttpCall call() const;
  // Feeds the reply of call(). `jitter` in [0,1).
  Step on_reply(const api::ApiReply& reply, WallTime now, double jitter);
  Result result() const { return result_; }
  int attempts() const { return attempts_; }
  const std::string& job_id() const { return job_id_; }

 private:
  std::string job_id_;
  std::string target_;
  RetryTiming timing_;
  int attempts_ = 0;
  Result result_ = Result::pending;
};

// What an abort by requestId (POST /v1/jobs/{requestId}/abort) does.
struct AbortResult {
  enum class Kind { unknown, requested, already_ended, not_followed } kind = Kind::unknown;
  std::string job_id;
  std::string message;
};
struct AbortPlan {
  enum class Action {
    none,             // unknown, or nothing left to abort
    stop_before_run,  // not finished: its submission stops before the run (or aborts after it)
    send_abort,       // submitted and not known to have ended: the API's abort
  } action = Action::none;
  AbortResult answer;
};
AbortPlan plan_abort(const std::optional<journal::JournalStore::Lookup>& found, bool following);

}  // namespace submitd::submit
