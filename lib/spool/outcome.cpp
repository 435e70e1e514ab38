// Role: outcome records written, given their "final", and read back (see outcome.hpp).
#include "spool/outcome.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include "util/json_text.hpp"

namespace submitd::spool {

std::string_view status_name(SubmitStatus s) {
  switch (s) {
    case SubmitStatus::submitted: return "submitted";
    case SubmitStatus::failed: return "failed";
    case SubmitStatus::duplicate: return "duplicate";
  }
  return "failed";
}

std::string outcome_json_line(const OutcomeRecord& r) {
  // Built by appending (no format strings): one of these per request.
  std::string out;
  out.reserve(256);
  out += "{\"v\":";
  append_json_int(out, kOutcomeFormatVersion);
  out += ",\"line\":";
  append_json_int(out, static_cast<long long>(r.line));
  out += ",\"requestId\":";
  append_json_string(out, r.request_id);
  out += ",\"jobId\":";
  if (r.job_id.empty()) {
    out += "null";
  } else {
    append_json_string(out, r.job_id);
  }
  out.append(",\"status\":\"").append(status_name(r.status));
  out.append("\",\"acceptedAt\":\"").append(rfc3339(r.accepted_at));
  out.append("\",\"finishedAt\":\"").append(rfc3339(r.finished_at));
  out += "\",\"attempts\":";
  append_json_int(out, r.attempts);
  if (r.error) {
    out += ",\"error\":{\"stage\":";
    append_json_string(out, r.error->stage);
    if (r.error->http_status != 0) {
      out += ",\"httpStatus\":";
      append_json_int(out, r.error->http_status);
    }
    out += ",\"message\":";
    append_json_string(out, r.error->message);
    out += "}";
  }
  if (r.upload) {
    out += ",\"upload\":{\"bytes\":";
    append_json_int(out, static_cast<long long>(r.upload->bytes));
    out += fmt::format(",\"seconds\":{:.3f}}}", r.upload->seconds);
  }
  if (!r.warnings.empty()) {
    out += ",\"warnings\":[";
    for (std::size_t i = 0; i < r.warnings.size(); ++i) {
      if (i) out += ",";
      append_json_string(out, r.warnings[i]);
    }
    out += "]";
  }
  out += "}\n";
  return out;
}

namespace {

// "final" writes an unknown text as null, not "", so a reader can tell "the API said nothing".
void append_string_or_null(std::string& out, std::string_view text) {
  if (text.empty()) {
    out += "null";
  } else {
    append_json_string(out, text);
  }
}

std::string string_member(simdjson::dom::element record, const char* key) {
  std::string_view text;
  return record[key].get(text) ? std::string() : std::string(text);
}

}  // namespace

std::string final_json(const JobEnd& end) {
  std::string out = "{\"state\":";
  append_string_or_null(out, end.state);
  out += ",\"errorMessage\":";
  append_string_or_null(out, end.error_message);
  out += ",\"endedAt\":";
  append_string_or_null(out, end.ended_at);
  out += ",\"durationSeconds\":";
  out += end.duration_s ? std::to_string(*end.duration_s) : "null";
  out += ",\"results\":[";
  for (std::size_t i = 0; i < end.results.size(); ++i) {
    out += i ? ",{\"name\":" : "{\"name\":";
    append_json_string(out, end.results[i].name);
    out += ",\"link\":";
    append_json_string(out, end.results[i].link);
    if (!end.results[i].local_path.empty()) {
      out += ",\"localPath\":";
      append_json_string(out, end.results[i].local_path);
    }
    if (end.results[i].bytes) {
      out += ",\"bytes\":";
      append_json_int(out, static_cast<long long>(*end.results[i].bytes));
    }
    if (!end.results[i].download_error.empty()) {
      out += ",\"downloadError\":";
      append_json_string(out, end.results[i].download_error);
    }
    out += "}";
  }
  out += "]}";
  return out;
}

std::optional<JobEnd> parse_final(std::string_view final_object) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array results;
  if (parser.parse(simdjson::padded_string(final_object)).get(root) || !root.is_object() ||
      root["results"].get(results)) {
    return std::nullopt;
  }
  JobEnd end;
  end.state = string_member(root, "state");
  end.error_message = string_member(root, "errorMessage");
  end.ended_at = string_member(root, "endedAt");
  std::int64_t duration = 0;
  if (!root["durationSeconds"].get(duration)) end.duration_s = duration;
  for (simdjson::dom::element item : results) {
    ResultLink r;
    r.name = string_member(item, "name");
    r.link = string_member(item, "link");
    r.local_path = string_member(item, "localPath");
    std::uint64_t bytes = 0;
    if (!item["bytes"].get(bytes)) r.bytes = bytes;
    r.download_error = string_member(item, "downloadError");
    end.results.push_back(std::move(r));
  }
  return end;
}

std::string gave_up_json(std::string_view last_state) {
  std::string out = "{\"state\":";
  append_string_or_null(out, last_state);
  out += ",\"errorMessage\":\"not ended within its jobTimeout plus follow.give_up_margin_s; no longer "
         "followed\",\"endedAt\":null,\"durationSeconds\":null,\"results\":[],\"gaveUp\":true}";
  return out;
}

std::string with_final(std::string_view outcome_line, std::string_view final_object) {
  // Spliced as text, not re-serialised: the rest of the line stays byte for byte as written.
  std::string_view body = outcome_line;
  bool newline = false;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) {
    body.remove_suffix(1);
    newline = true;
  }
  if (body.size() < 2 || body.front() != '{' || body.back() != '}' ||
      body.find("\"final\":") != std::string_view::npos) {
    return std::string(outcome_line);
  }
  std::string out(body.substr(0, body.size() - 1));
  out += ",\"final\":";
  out += final_object;
  out += "}";
  if (newline) out += "\n";
  return out;
}

ParsedOutcome parse_outcome_line(std::string_view text) {
  // One parser per thread, reused: a held file is read back line by line, and a fresh parser
  // would allocate for each. Outcome lines are small, so what it keeps between calls is too.
  thread_local simdjson::dom::parser parser;
  ParsedOutcome out;
  simdjson::dom::element record;
  if (parser.parse(simdjson::padded_string(text)).get(record)) return out;
  out.ok = true;
  if (record["line"].get(out.line)) out.line = 0;
  out.status = string_member(record, "status");
  out.job_id = string_member(record, "jobId");
  out.request_id = string_member(record, "requestId");
  if (record["attempts"].get(out.attempts)) out.attempts = 0;
  simdjson::dom::element error;
  if (!record["error"].get(error)) out.error_json = simdjson::minify(error);
  simdjson::dom::element final_value;
  if (record["final"].get(final_value) || !final_value.is_object()) return out;
  out.has_final = true;
  std::string_view state;
  if (final_value["state"].get(state)) return out;
  out.final_state = std::string(state);
  std::string minified = simdjson::minify(final_value);
  if (minified.size() <= kMaxFinalJsonBytes) out.final_json = std::move(minified);
  return out;
}

}  // namespace submitd::spool
