// Role: the control socket's answers (see control_api.hpp).
#include "control/control_api.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "spool/request_parser.hpp"
#include "util/json_text.hpp"

namespace submitd::control {

namespace {

constexpr std::string_view kJobsPrefix = "/v1/jobs/";
constexpr std::string_view kAbortSuffix = "/abort";
constexpr std::size_t kMaxRequestIdLength = 128;  // as the request parser allows
constexpr std::size_t kMaxFinalBytes = 1024 * 1024;  // a "final" copied into GET /v1/jobs/{id}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The requestId one path segment names. %XX escapes are decoded first (a client may send ':'
// as %3A), then the result is held to the request parser's alphabet, so a '/' (raw or %2F),
// a space or a broken escape never reaches a hook. nullopt: not a requestId.
std::optional<std::string> request_id_of(std::string_view segment) {
  if (segment.size() > 3 * kMaxRequestIdLength) return std::nullopt;
  std::string id;
  for (std::size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      id.push_back(segment[i]);
      continue;
    }
    if (i + 2 >= segment.size()) return std::nullopt;
    int hi = hex_value(segment[i + 1]);
    int lo = hex_value(segment[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  if (id.empty() || id.size() > kMaxRequestIdLength ||
      id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") !=
          std::string::npos) {
    return std::nullopt;
  }
  return id;
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

// The "final" member of an outcome record (added by job following) as JSON text, or "null"
// when there is none or it is not what following writes (an object with a string "state"),
// or is unreasonably large.
std::string final_of(simdjson::dom::element record) {
  simdjson::dom::element final_value;
  if (record["final"].get(final_value) || !final_value.is_object()) return "null";
  std::string_view state;
  if (final_value["state"].get(state)) return "null";
  std::string text = simdjson::minify(final_value);
  if (text.size() > kMaxFinalBytes) return "null";
  return text;
}

}  // namespace

std::string error_json(std::string_view message) {
  std::string out = "{\"error\":";
  append_json_string(out, message);
  out += "}";
  return out;
}

ControlAnswer ControlApi::handle(std::string_view method, std::string_view target, std::string_view body) {
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

ControlAnswer ControlApi::post_jobs(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return {400, error_json("no body: post one JSON object, or JSON Lines (one request per line)")};
  }
  DaemonStatus now = hooks_.status();
  if (now.backlog_files >= limits_.max_backlog_files) {
    return {503, error_json(fmt::format("the backlog is full ({} files waiting); try again later", now.backlog_files)), 5};
  }
  spool::RequestParser parser;
  struct Line {
    std::uint64_t number;
    std::string request_id;
  };
  std::vector<Line> accepted;
  std::vector<std::pair<std::uint64_t, std::string>> rejected;
  std::string content;
  std::size_t json_lines = 0;

  // One object spread over several lines is one request; otherwise one request per line.
  auto whole = parser.parse(body, 1);
  bool single = std::holds_alternative<spool::JobRequest>(whole) && body.find('\n') != std::string_view::npos &&
                body.find('\n') < body.find_last_not_of(" \t\r\n");
  auto consider = [&](std::uint64_t number, std::string_view text, spool::ParseOutcome parsed) {
    if (auto* req = std::get_if<spool::JobRequest>(&parsed)) {
      accepted.push_back({number, req->request_id});
      content.append(text);
      ++json_lines;
    } else {
      const auto& err = std::get<spool::RequestError>(parsed);
      if (err.message.find("not valid JSON") == std::string::npos) ++json_lines;
      rejected.emplace_back(number, spool::to_string(err));
    }
    content.push_back('\n');
  };
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
    consider(1, flat, std::move(whole));
  } else {
    std::uint64_t number = 0;
    std::size_t start = 0;
    while (start <= body.size()) {
      std::size_t end = body.find('\n', start);
      if (end == std::string_view::npos) end = body.size();
      std::string_view text = body.substr(start, end - start);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      ++number;
      if (text.find_first_not_of(" \t") == std::string_view::npos) {
        content.push_back('\n');  // blank lines are not requests, in the spool either
      } else if (text.size() > limits_.max_request_bytes) {
        rejected.emplace_back(number, fmt::format("line {}: the line is longer than {} bytes "
                                                  "(spool.max_request_bytes)", number, limits_.max_request_bytes));
        ++json_lines;
        content.push_back('\n');
      } else {
        consider(number, text, parser.parse(text, number));
      }
      if (end == body.size()) break;
      start = end + 1;
    }
  }
  if (accepted.empty() && json_lines == 0) {
    return {400, error_json("the body is not JSON: post one JSON object, or JSON Lines (one request per line)")};
  }

  std::string claim_id;
  if (!accepted.empty()) {
    try {
      claim_id = hooks_.store(content, fmt::format("posted-{}-{}.jsonl", std::time(nullptr), ++posts_));
    } catch (const std::exception& e) {
      return {503, error_json(std::string("the requests could not be stored: ") + e.what()), 5};
    }
  }
  std::string out = "{\"accepted\":[";
  for (std::size_t i = 0; i < accepted.size(); ++i) {
    const auto& a = accepted[i];
    std::string request_id = a.request_id.empty() ? claim_id + ":" + std::to_string(a.number) : a.request_id;
    out += fmt::format("{}{{\"line\":{},\"requestId\":", i ? "," : "", a.number);
    append_json_string(out, request_id);
    out += ",\"jobId\":";
    append_json_string(out, hooks_.job_id(claim_id, a.number));
    out += "}";
  }
  out += "],\"rejected\":[";
  for (std::size_t i = 0; i < rejected.size(); ++i) {
    out += fmt::format("{}{{\"line\":{},\"error\":", i ? "," : "", rejected[i].first);
    append_json_string(out, rejected[i].second);
    out += "}";
  }
  out += "]}";
  return {accepted.empty() ? 400 : 202, std::move(out)};
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
  std::string state = "submitting";
  std::int64_t attempts = 0;
  std::string error = "null";
  std::string final_json = "null";
  if (found->finished) {
    simdjson::dom::parser parser;
    simdjson::dom::element record;
    if (parser.parse(simdjson::padded_string(found->outcome_line)).get(record)) {
      return {500, error_json("the journal's record of this request is unreadable")};
    }
    std::string_view status;
    if (!record["status"].get(status)) state = std::string(status);
    if (record["attempts"].get(attempts)) attempts = 0;
    if (auto e = record["error"]; !e.error()) error = simdjson::minify(e.value_unsafe());
    final_json = final_of(record);
  }
  out += ",\"state\":";
  append_json_string(out, state);
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
  if (!s.journal_ok) {
    out += ",\"journalError\":";
    append_json_string(out, s.journal_error);
  }
  if (s.follow_enabled) {
    out += fmt::format(",\"following\":{{\"jobs\":{},\"filesWaiting\":{}}}", s.followed_jobs, s.files_waiting);
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
  out += "}";
  return {200, std::move(out)};
}

ControlAnswer ControlApi::healthz() {
  DaemonStatus s = hooks_.status();
  // Intake works when new files are seen and accepted requests can be made durable; the
  // API being unreachable does not make the daemon unhealthy.
  if (!s.journal_ok) return {503, error_json("the journal cannot commit: " + s.journal_error)};
  // A full disk: posts cannot be stored and nothing new is claimed until space is back.
  if (s.storage_full) return {503, error_json("disk full, not taking new work: " + s.storage_problem)};
  return {200, "{\"ok\":true}"};
}

}  // namespace submitd::control
