// Role: the control socket's answers (see control_api.hpp).
#include "control/control_api.hpp"

#include <fmt/format.h>

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "control/queue_api.hpp"
#include "spool/outcome.hpp"
#include "spool/request_identity.hpp"
#include "spool/request_parser.hpp"
#include "util/json_text.hpp"
#include "util/percent.hpp"

namespace submitd::control {

namespace {

constexpr std::string_view kJobsPrefix = "/v1/jobs/";
constexpr std::string_view kAbortSuffix = "/abort";
constexpr std::size_t kMaxRequestIdLength = 128;  // as the request parser allows

// The requestId one path segment names. %XX escapes are decoded first (a client may send ':'
// as %3A), then the result is held to the request parser's alphabet, so a '/' (raw or %2F),
// a space or a broken escape never reaches a hook. nullopt: not a requestId.
std::optional<std::string> request_id_of(std::string_view segment) {
  if (segment.size() > 3 * kMaxRequestIdLength) return std::nullopt;
  std::optional<std::string> decoded = percent_decode(segment);
  if (!decoded) return std::nullopt;
  const std::string& id = *decoded;
  if (id.empty() || id.size() > kMaxRequestIdLength ||
      id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") !=
          std::string::npos) {
    return std::nullopt;
  }
  return decoded;
}

ControlAnswer bad_request_id() { return {400, error_json("a requestId is 1 to 128 of A-Z a-z 0-9 . _ : -")}; }

// A jobId as a JSON value: null when the daemon has none to name.
void append_job_id(std::string& out, const std::string& job_id) {
  if (job_id.empty()) {
    out += "null";
  } else {
    append_json_string(out, job_id);
  }
}

}  // namespace

std::string error_json(std::string_view message) {
  std::string out = "{\"error\":";
  append_json_string(out, message);
  out += "}";
  return out;
}

ControlAnswer ControlApi::handle(std::string_view method, std::string_view target, std::string_view body) {
  if (target.starts_with(kQueuePrefix) &&
      (target.size() == kQueuePrefix.size() || target[kQueuePrefix.size()] == '/' || target[kQueuePrefix.size()] == '?')) {
    return queue_route(method, target, body, hooks_, std::chrono::system_clock::now());
  }
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  if (target == "/v1/jobs") {
    if (method != "POST") return {405, error_json("use POST to submit jobs")};
    return post_jobs(body);
  }
  if (target == "/v1/status") {
    if (method != "GET") return {405, error_json("use GET")};
    return status();
  }
  if (target == "/healthz") {
    if (method != "GET" && method != "HEAD") return {405, error_json("use GET")};
    return healthz();
  }
  if (target.starts_with(kJobsPrefix)) {
    std::string_view rest = target.substr(kJobsPrefix.size());
    if (rest.ends_with(kAbortSuffix)) {
      if (method != "POST") return {405, error_json("use POST to abort")};
      return abort_job(rest.substr(0, rest.size() - kAbortSuffix.size()));
    }
    if (method != "GET") return {405, error_json("use GET")};
    return get_job(rest);
  }
  if (target == "/v1/pause" || target == "/v1/resume") {
    if (method != "POST") return {405, error_json("use POST")};
    const bool pause = target == "/v1/pause";
    try {
      hooks_.set_paused(pause);
    } catch (const std::exception& e) {
      return {503, error_json(std::string("could not store the pause state: ") + e.what())};
    }
    return {200, pause ? "{\"paused\":true}" : "{\"paused\":false}"};
  }
  return {404, error_json("no such endpoint; try GET /v1/status")};
}

namespace {

void consider(PendingPost& post, std::uint64_t number, std::string_view text, spool::ParseOutcome parsed) {
  if (auto* req = std::get_if<spool::JobRequest>(&parsed)) {
    post.accepted.push_back({number, req->request_id});
    post.content.append(text);
    ++post.json_lines;
  } else {
    const auto& err = std::get<spool::RequestError>(parsed);
    if (err.message.find("not valid JSON") == std::string::npos) ++post.json_lines;
    post.rejected.emplace_back(number, spool::to_string(err));
  }
  post.content.push_back('\n');
}

// One request per line, each held to the size limit.
void read_json_lines(std::string_view body, std::uint64_t max_request_bytes, spool::RequestParser& parser,
                     PendingPost& out) {
  std::uint64_t number = 0;
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view text = body.substr(start, end - start);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    ++number;
    if (text.find_first_not_of(" \t") == std::string_view::npos) {
      out.content.push_back('\n');  // blank lines are not requests, in the spool either
    } else if (text.size() > max_request_bytes) {
      out.rejected.emplace_back(number, fmt::format("line {}: the line is longer than {} bytes "
                                                    "(spool.max_request_bytes)", number, max_request_bytes));
      ++out.json_lines;
      out.content.push_back('\n');
    } else {
      consider(out, number, text, parser.parse(text, number));
    }
    if (end == body.size()) break;
    start = end + 1;
  }
}

}  // namespace

ControlAnswer ControlApi::post_jobs(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return {400, error_json("no body: post one JSON object, or JSON Lines (one request per line)")};
  }
  DaemonStatus now = hooks_.status();
  if (now.backlog_files >= limits_.max_backlog_files) {
    return {503, error_json(fmt::format("the backlog is full ({} files waiting); try again later", now.backlog_files)), 5};
  }
  spool::RequestParser parser(limits_.input_rules);
  auto pending = std::make_shared<PendingPost>();
  PendingPost& posted = *pending;
  // One object spread over several lines is one request; otherwise one request per line.
  auto whole = parser.parse(body, 1);
  bool single = std::holds_alternative<spool::JobRequest>(whole) && body.find('\n') != std::string_view::npos &&
                body.find('\n') < body.find_last_not_of(" \t\r\n");
  if (single && body.size() > limits_.max_request_bytes) {
    return {413, error_json(fmt::format("the request is {} bytes; a request may be at most {} bytes "
                                        "(spool.max_request_bytes)", body.size(), limits_.max_request_bytes))};
  }
  if (single) {
    // Stored on one line: JSON allows no raw newline inside strings, so this is safe.
    std::string flat(body);
    for (char& c : flat) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    consider(posted, 1, flat, std::move(whole));
  } else {
    read_json_lines(body, limits_.max_request_bytes, parser, posted);
  }
  if (posted.accepted.empty() && posted.json_lines == 0) {
    return {400, error_json("the body is not JSON: post one JSON object, or JSON Lines (one request per line)")};
  }
  if (posted.accepted.empty()) return stored(posted, "");
  posted.name = fmt::format("posted-{}-{}.jsonl", std::time(nullptr), ++posts_);
  ControlAnswer answer;
  answer.pending = std::move(pending);
  return answer;
}

void ControlApi::store(std::shared_ptr<PendingPost> post, std::function<void(ControlAnswer)> answered) {
  std::string content = std::move(post->content);
  const std::string name = post->name;
  hooks_.store(std::move(content), name,
               [this, post = std::move(post), answered = std::move(answered)](std::exception_ptr error,
                                                                              std::string claim_id) {
                 if (!error) return answered(stored(*post, claim_id));
                 std::string why = "unknown error";
                 try {
                   std::rethrow_exception(error);
                 } catch (const std::exception& e) {
                   why = e.what();
                 } catch (...) {
                 }
                 answered({503, error_json("the requests could not be stored: " + why), 5});
               });
}

// The answer to a post whose acceptable requests (if any) are stored under `claim_id`.
ControlAnswer ControlApi::stored(const PendingPost& posted, const std::string& claim_id) {
  std::string out = "{\"accepted\":[";
  for (std::size_t i = 0; i < posted.accepted.size(); ++i) {
    const auto& a = posted.accepted[i];
    std::string request_id = a.request_id.empty() ? spool::request_key(claim_id, a.number) : a.request_id;
    out += fmt::format("{}{{\"line\":{},\"requestId\":", i ? "," : "", a.number);
    append_json_string(out, request_id);
    out += ",\"jobId\":";
    append_json_string(out, hooks_.job_id(claim_id, a.number));
    out += "}";
  }
  out += "],\"rejected\":[";
  for (std::size_t i = 0; i < posted.rejected.size(); ++i) {
    out += fmt::format("{}{{\"line\":{},\"error\":", i ? "," : "", posted.rejected[i].first);
    append_json_string(out, posted.rejected[i].second);
    out += "}";
  }
  out += "]}";
  return {posted.accepted.empty() ? 400 : 202, std::move(out)};
}

ControlAnswer ControlApi::get_job(std::string_view segment) {
  std::optional<std::string> id = request_id_of(segment);
  if (!id) return bad_request_id();
  const std::string& request_id = *id;
  std::optional<RequestLookup> found = hooks_.lookup ? hooks_.lookup(request_id) : std::nullopt;
  if (!found) {
    return {404, error_json("no request with this requestId is being worked, and no given requestId "
                            "like it was accepted within the retention")};
  }
  std::string out = "{\"requestId\":";
  append_json_string(out, request_id);
  out += ",\"jobId\":";
  append_json_string(out, found->job_id);
  std::string state = found->state;
  std::int64_t attempts = 0;
  std::string error = "null";
  std::string final_json = "null";
  if (found->finished) {
    spool::ParsedOutcome record = spool::parse_outcome_line(found->outcome_line);
    if (!record.ok) return {500, error_json("the journal's record of this request is unreadable")};
    if (!record.status.empty()) state = record.status;
    attempts = record.attempts;
    error = record.error_json.value_or("null");
    // "final" is passed on only in the shape following writes (see ParsedOutcome::final_json).
    final_json = record.final_json.value_or("null");
  }
  out += ",\"state\":";
  append_json_string(out, state);
  if (!found->finished && found->next_retry != WallTime{}) {
    out += ",\"nextRetry\":{\"at\":";
    append_json_string(out, rfc3339(found->next_retry));
    out += ",\"reason\":";
    append_json_string(out, found->retry_reason);
    out += "}";
  }
  out += fmt::format(",\"attempts\":{},\"error\":{},\"final\":{}}}", attempts, error, final_json);
  return {200, std::move(out)};
}

ControlAnswer ControlApi::abort_job(std::string_view segment) {
  std::optional<std::string> id = request_id_of(segment);
  if (!id) return bad_request_id();
  if (!hooks_.abort) return {503, error_json("abort is not available")};
  AbortAnswer answer;
  try {
    answer = hooks_.abort(*id);
  } catch (const std::exception& e) {
    return {503, error_json(std::string("the abort could not be taken: ") + e.what())};
  } catch (...) {
    return {503, error_json("the abort could not be taken: unknown error")};
  }
  switch (answer.kind) {
    case AbortAnswer::Kind::unknown: {
      std::string message = "no request with requestId " + *id +
                            (answer.message.empty() ? std::string(" is being worked, and no given requestId like it "
                                                                  "was accepted within the retention")
                                                    : ": " + answer.message);
      return {404, error_json(message)};
    }
    case AbortAnswer::Kind::requested:
    case AbortAnswer::Kind::not_followed: {
      const bool requested = answer.kind == AbortAnswer::Kind::requested;
      std::string message = answer.message;
      if (message.empty()) {
        message = requested ? "abort requested; the job's final state shows in GET /v1/jobs/" + *id
                            : "abort sent to the API; job following is off, so its end is not watched";
      }
      std::string out = "{\"requestId\":";
      append_json_string(out, *id);
      out += ",\"jobId\":";
      append_job_id(out, answer.job_id);
      out += requested ? ",\"abort\":\"requested\",\"message\":" : ",\"abort\":\"sent\",\"message\":";
      append_json_string(out, message);
      out += "}";
      return {202, std::move(out)};
    }
    case AbortAnswer::Kind::already_ended: {
      std::string out = "{\"error\":";
      append_json_string(out, answer.message.empty()
                                  ? "nothing to abort: the submission failed or the job already ended"
                                  : answer.message);
      out += ",\"jobId\":";
      append_job_id(out, answer.job_id);
      out += "}";
      return {409, std::move(out)};
    }
  }
  return {500, error_json("the daemon gave an abort answer this control API does not know")};
}

ControlAnswer ControlApi::status() {
  DaemonStatus s = hooks_.status();
  std::string out = "{\"version\":";
  append_json_string(out, s.version);
  out += fmt::format(",\"backlogFiles\":{},\"oldestWaitingAgeSeconds\":{:.3f},\"inflight\":{},\"activeFiles\":{},"
                     "\"paused\":{},\"spoolWatched\":{},\"journalOk\":{},\"tokenHeld\":{},\"apiConnections\":{}",
                     s.backlog_files, s.oldest_waiting_age_s, s.inflight, s.active_files, s.paused,
                     s.spool_watched, s.journal_ok, s.token_held, s.api_connections);
  if (!s.spool_problem.empty()) {
    out += ",\"spoolProblem\":";
    append_json_string(out, s.spool_problem);
  }
  out += fmt::format(",\"unclaimableFiles\":{}", s.unclaimable_files);
  if (!s.journal_ok) {
    out += ",\"journalError\":";
    append_json_string(out, s.journal_error);
  }
  if (s.follow_enabled) {
    out += fmt::format(",\"following\":{{\"jobs\":{},\"filesWaiting\":{},\"downloadingJobs\":{}}}", s.followed_jobs,
                       s.files_waiting, s.downloading_jobs);
  }
  out += fmt::format(",\"storageFull\":{}", s.storage_full);
  if (s.storage_full) {
    out += ",\"storageProblem\":";
    append_json_string(out, s.storage_problem);
  }
  out += fmt::format(",\"forceTestJobs\":{},\"maxJobsPerMinute\":{},\"apiAnswering\":{}", s.force_test_jobs,
                     s.max_jobs_per_minute, s.api_answering);
  if (!s.api_answering) {
    out += ",\"apiTrouble\":";
    append_json_string(out, s.api_trouble);
  }
  out += fmt::format(",\"apiRate\":{{\"adaptive\":{},\"limitPerSecond\":", s.rate_adaptive);
  out += s.rate_limit > 0 ? fmt::format("{:.1f}", s.rate_limit) : std::string("null");
  out += ",\"reason\":";
  append_json_string(out, s.rate_reason);
  out += fmt::format(",\"changedSecondsAgo\":{:.1f},\"heldSeconds\":{:.1f}}}", s.rate_changed_s_ago, s.rate_held_s);
  if (const auto& js = s.jetstream) {
    out += ",\"jetstream\":{\"stream\":";
    append_json_string(out, js->stream);
    out += ",\"consumer\":";
    append_json_string(out, js->consumer);
    out += fmt::format(",\"connected\":{},\"heldMessages\":{},\"workingMessages\":{},\"consumerPending\":{},"
                       "\"consumerAckPending\":{},\"finalRecordsPublishing\":{}",
                       js->connected, js->held, js->working, js->pending, js->ack_pending, js->finals_publishing);
    if (js->fleet_members > 0) out += fmt::format(",\"fleetMembers\":{}", js->fleet_members);
    if (!js->error.empty()) {
      out += ",\"error\":";
      append_json_string(out, js->error);
    }
    out += "}";
  }
  out += "}";
  return {200, std::move(out)};
}

ControlAnswer ControlApi::healthz() {
  DaemonStatus s = hooks_.status();
  // Intake works when new files are seen and accepted requests can be made durable; the
  // API being unreachable does not make the daemon unhealthy.
  if (!s.journal_ok) return {503, error_json("the journal cannot commit: " + s.journal_error)};
  // Drops into a missing or unreadable incoming/ are never seen.
  if (!s.spool_problem.empty()) return {503, error_json("cannot read incoming/: " + s.spool_problem)};
  // A full disk: posts cannot be stored and nothing new is claimed until space is back.
  if (s.storage_full) return {503, error_json("disk full, not taking new work: " + s.storage_problem)};
  return {200, "{\"ok\":true}"};
}

}  // namespace submitd::control
