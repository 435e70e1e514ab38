// Role: the queue routes of the control socket (see queue_api.hpp).
#include "control/queue_api.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <charconv>

#include "util/json_text.hpp"

namespace submitd::control {

namespace {

double seconds_between(WallTime from, WallTime to) {
  if (from == WallTime{} || to < from) return 0;
  return std::chrono::duration<double>(to - from).count();
}

void append_file(std::string& out, const spool::QueuedFile& f, WallTime now) {
  out += "{\"claimId\":";
  if (f.claim_id.empty()) {
    out += "null";
  } else {
    append_json_string(out, f.claim_id);
  }
  out += ",\"name\":";
  append_json_string(out, f.name);
  out += ",\"state\":";
  append_json_string(out, spool::queued_file_state_name(f.state));
  out += fmt::format(",\"ageSeconds\":{:.1f},\"bytes\":{},\"bytesRead\":{}", seconds_between(f.arrived, now), f.bytes,
                     f.bytes_read);
  out += fmt::format(",\"requests\":{{\"waiting\":{},\"inFlight\":{},\"deferred\":{},\"submitted\":{},\"failed\":{},"
                     "\"following\":{}}}",
                     f.waiting, f.in_flight, f.deferred, f.submitted, f.failed, f.following);
  out += ",\"nextRetry\":";
  if (f.deferred == 0 || f.next_retry == WallTime{}) {
    out += "null";
  } else {
    out += "{\"at\":";
    append_json_string(out, rfc3339(f.next_retry));
    out += ",\"reason\":";
    append_json_string(out, f.next_retry_reason);
    out += "}";
  }
  out += "}";
}

std::size_t limit_of(std::string_view target) {
  const auto at = target.find("limit=");
  if (at == std::string_view::npos || (at > 0 && target[at - 1] != '?' && target[at - 1] != '&')) {
    return kDefaultIncomingListed;
  }
  std::size_t limit = kDefaultIncomingListed;
  const char* begin = target.data() + at + 6;
  std::from_chars(begin, target.data() + target.size(), limit);
  return limit;
}

int status_of(spool::FileActionResult::Kind kind) {
  using Kind = spool::FileActionResult::Kind;
  switch (kind) {
    case Kind::done: return 200;
    case Kind::unknown: return 404;
    case Kind::conflict: return 409;
    case Kind::bad_input: return 400;
    case Kind::failed: return 503;
  }
  return 500;
}

ControlAnswer file_action(std::string_view verb, std::string_view body, const ControlHooks& hooks) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view file;
  if (parser.parse(body.data(), body.size()).get(doc) || doc["file"].get(file) || file.empty()) {
    return {400, error_json(fmt::format("post {{\"file\": FILE or CLAIM}} to {} a file", verb))};
  }
  bool abort_running = false;
  if (auto flag = doc["abortRunning"]; !flag.error()) {
    if (flag.get(abort_running) || verb != "cancel") {
      return {400, error_json("abortRunning is true or false, and only cancel takes it")};
    }
  }
  spool::FileActionResult r = hooks.file_action(verb, std::string(file), abort_running);
  const int status = status_of(r.kind);
  std::string out = status == 200 ? "{\"done\":" : "{\"error\":";
  append_json_string(out, r.message);
  out += ",\"action\":";
  append_json_string(out, verb);
  out += ",\"file\":";
  append_json_string(out, r.name);
  if (!r.claim_id.empty()) {
    out += ",\"claimId\":";
    append_json_string(out, r.claim_id);
  }
  out += "}";
  return {status, std::move(out), status == 503 ? std::optional<int>(5) : std::nullopt};
}

}  // namespace

std::string queue_json(const spool::QueueReport& report, WallTime now) {
  std::string out = fmt::format("{{\"incomingTotal\":{},\"files\":[", report.incoming_total);
  for (std::size_t i = 0; i < report.files.size(); ++i) {
    if (i) out += ",";
    append_file(out, report.files[i], now);
  }
  out += "]}";
  return out;
}

ControlAnswer queue_route(std::string_view method, std::string_view target, std::string_view body,
                          const ControlHooks& hooks, WallTime now) {
  std::string_view path = target.substr(0, target.find('?'));
  if (!hooks.queue || !hooks.file_action || !hooks.retry_now) return {503, error_json("queue control is not available")};
  if (path == kQueuePrefix) {
    if (method != "GET") return {405, error_json("use GET")};
    return {200, queue_json(hooks.queue(limit_of(target)), now)};
  }
  std::string_view verb = path.substr(std::min(path.size(), kQueuePrefix.size() + 1));
  if (path.size() <= kQueuePrefix.size() || path[kQueuePrefix.size()] != '/') verb = {};
  if (verb == "retry-now") {
    if (method != "POST") return {405, error_json("use POST")};
    return {200, fmt::format("{{\"woken\":{}}}", hooks.retry_now())};
  }
  if (verb == "hold" || verb == "release" || verb == "cancel" || verb == "requeue") {
    if (method != "POST") return {405, error_json("use POST")};
    return file_action(verb, body, hooks);
  }
  return {404, error_json("no such endpoint; try GET /v1/queue")};
}

}  // namespace submitd::control
