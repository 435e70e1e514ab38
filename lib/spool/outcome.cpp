// Role: JSON rendering of outcome records (see outcome.hpp).
#include "spool/outcome.hpp"

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

}  // namespace submitd::spool
