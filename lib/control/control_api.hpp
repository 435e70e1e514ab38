// Role: what the control socket answers, as plain logic: routes a request (method, target,
// body) to an answer (status, JSON body, Retry-After) without any socket, so tests call it
// directly. POST /v1/jobs validates each posted request with the daemon's parser, keeps the
// acceptable ones in their line positions (refused lines become blank, so line numbers, and
// hence jobIds, match the posted body) and leaves them pending: the transport hands them to
// store(), which has them made durable in the spool (many posts share one commit), and sends
// the answer only then. The HTTP transport is control_server's job.
#pragma once

#include <array>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spool/input_file.hpp"
#include "spool/queue_report.hpp"

namespace submitd::control {

// A post's requests as they go into the spool: acceptable ones in their line positions
// (refused and blank lines stay empty, so line numbers, and hence jobIds, match the posted
// body), and the refused ones with their reasons.
struct PendingPost {
  struct Accepted {
    std::uint64_t number;
    std::string request_id;  // given in the request; empty: none
  };
  std::vector<Accepted> accepted;
  std::vector<std::pair<std::uint64_t, std::string>> rejected;
  std::string content;         // JSON Lines to store
  std::string name;            // of the stored input
  std::size_t json_lines = 0;  // lines that were JSON at all (else: "the body is not JSON")
};

struct ControlAnswer {
  int status = 200;
  std::string body;  // JSON
  std::optional<int> retry_after_s;
  // Set: this is not the answer yet. Pass it to ControlApi::store, which gives the answer.
  std::shared_ptr<PendingPost> pending;
};

// A snapshot of the daemon for /v1/status and /healthz.
// The JetStream intake as /v1/status shows it.
struct JetStreamStatus {
  std::string stream, consumer;
  bool connected = false;
  std::string error;  // the last trouble with the cluster; empty since it worked again
  std::size_t held = 0, working = 0;  // messages fetched and not settled; of them, requests worked
  std::uint64_t pending = 0, ack_pending = 0;  // the shared consumer's counts (the whole fleet)
  std::size_t fleet_members = 0;      // live members sharing the cost cap; 0: not shared
  std::size_t finals_publishing = 0;  // final records (job following) not yet in the outcome stream
};

struct DaemonStatus {
  std::string version;
  std::size_t backlog_files = 0;
  double oldest_waiting_age_s = 0;
  std::size_t inflight = 0;
  std::size_t active_files = 0;
  bool paused = false;
  bool force_test_jobs = false;  // submit.force_test_jobs: every run is a test job
  std::uint64_t max_jobs_per_minute = 0;  // submit.max_jobs_per_minute; 0: no cap
  bool spool_watched = false;
  std::string spool_problem;          // why incoming/ cannot be scanned (removed, say); empty: fine
  std::size_t unclaimable_files = 0;  // left in incoming/ after a failed claim, tried again later
  bool journal_ok = true;
  std::string journal_error;
  bool storage_full = false;  // claiming stopped for lack of disk space
  std::string storage_problem;
  bool follow_enabled = false;     // follow.enabled
  std::size_t followed_jobs = 0;   // jobs followed now (in memory)
  std::size_t files_waiting = 0;   // files whose jobs are still running (held in active/)
  std::size_t downloading_jobs = 0;  // ended jobs whose results are being downloaded now
  bool token_held = false;  // a token is in hand
  std::size_t api_connections = 0;
  bool api_answering = false;  // the last API call got an answer below 500
  std::string api_trouble;     // otherwise why ("timeout", "HTTP 503", "no call yet", ...)
  // The account rate: adaptive or fixed, the calls/s allowed now (0: no limit), why it last
  // changed and how long ago, and how long every call is still held by a Retry-After.
  bool rate_adaptive = false;
  double rate_limit = 0;
  std::string rate_reason;
  double rate_changed_s_ago = 0;
  double rate_held_s = 0;
  std::optional<JetStreamStatus> jetstream;  // when [intake.jetstream] is configured
};

// What the journal knows of one requestId, and where it is now while it is worked.
struct RequestLookup {
  std::string job_id;
  bool finished = false;
  std::string outcome_line;  // the outcome record (JSON) once finished
  // Not finished: queued, submitting, deferred (then why and when it tries again), paused
  // or held.
  std::string state = "submitting";
  std::string retry_reason;
  WallTime next_retry{};
};

// What the daemon did with an abort request for one requestId (POST /v1/jobs/{id}/abort).
struct AbortAnswer {
  enum class Kind {
    unknown,        // no such requestId (404)
    requested,      // taken: a queued request will not be submitted, a running job gets the
                    // API's abort; the final state shows later in GET /v1/jobs/{id} (202)
    already_ended,  // nothing to abort: its submission failed or its job already ended (409)
    not_followed,   // submitted, following is off: the abort is sent, its end is not watched (202)
  } kind = Kind::unknown;
  std::string job_id;
  std::string message;  // for a person: what happens now, or why nothing can
};

struct ControlHooks {
  std::function<DaemonStatus()> status;
  // Makes `content` (JSON Lines) durable in the spool as one input named like `name`, then
  // calls `done` with its claim id, or with why it could not (on the thread that serves the
  // socket, never from inside this call).
  using Stored = std::function<void(std::exception_ptr error, std::string claim_id)>;
  std::function<void(std::string content, const std::string& name, Stored done)> store;
  // The jobId a request at `line` of the stored input gets (UUIDv5 of "<claim>:<line>").
  std::function<std::string(const std::string& claim_id, std::uint64_t line)> job_id;
  std::function<std::optional<RequestLookup>(const std::string& request_id)> lookup;
  // Pauses or resumes sending work to the API (durably); throws with a reason on failure.
  std::function<void(bool paused)> set_paused;
  // Aborts the request with this requestId (see AbortAnswer). Never blocks on the API.
  std::function<AbortAnswer(const std::string& request_id)> abort;
  // Queue inspection and control (queue_api.hpp): every file with its requests (at most
  // `incoming_limit` of incoming/), an action on one file ("hold", "release", "cancel",
  // "requeue"), and waking the deferred requests (how many were waiting).
  std::function<spool::QueueReport(std::size_t incoming_limit)> queue;
  std::function<spool::FileActionResult(std::string_view verb, const std::string& file, bool abort_running)>
      file_action;
  std::function<std::size_t()> retry_now;
};

// Every route the control socket serves: method and path ({requestId} stands for one).
// docs/control-api.yaml (OpenAPI 3) describes the same set; tests/unit/control_openapi_test
// holds the two, and ControlApi::handle, to each other.
struct Route {
  std::string_view method, path;
};
inline constexpr std::array<Route, 14> kRoutes{{
    {"POST", "/v1/jobs"},
    {"GET", "/v1/jobs/{requestId}"},
    {"POST", "/v1/jobs/{requestId}/abort"},
    {"GET", "/v1/status"},
    {"GET", "/healthz"},
    {"HEAD", "/healthz"},
    {"POST", "/v1/pause"},
    {"POST", "/v1/resume"},
    {"GET", "/v1/queue"},
    {"POST", "/v1/queue/hold"},
    {"POST", "/v1/queue/release"},
    {"POST", "/v1/queue/cancel"},
    {"POST", "/v1/queue/requeue"},
    {"POST", "/v1/queue/retry-now"},
}};

struct ControlLimits {
  std::uint64_t max_request_bytes = 1024 * 1024;  // per posted request (spool.max_request_bytes)
  std::size_t max_backlog_files = 10000;          // above: 503 with Retry-After
  spool::InputFileRules input_rules;               // where a request's inputFile may be (upload.*)
};

class ControlApi {
 public:
  ControlApi(ControlHooks hooks, ControlLimits limits) : hooks_(std::move(hooks)), limits_(limits) {}
  ControlAnswer handle(std::string_view method, std::string_view target, std::string_view body);
  // Stores a pending post (see ControlAnswer::pending) and calls `answered` with its answer
  // once its requests are durable, or with a 503 saying why they could not be stored.
  void store(std::shared_ptr<PendingPost> post, std::function<void(ControlAnswer)> answered);

 private:
  ControlAnswer post_jobs(std::string_view body);
  ControlAnswer stored(const PendingPost& post, const std::string& claim_id);
  ControlAnswer status();
  ControlAnswer healthz();
  ControlAnswer get_job(std::string_view request_id);
  ControlAnswer abort_job(std::string_view request_id);

  ControlHooks hooks_;
  ControlLimits limits_;
  std::uint64_t posts_ = 0;  // names stored inputs uniquely within this run
};

// {"error":"..."} with the text JSON-escaped.
std::string error_json(std::string_view message);

}  // namespace submitd::control
