// Role: JSON rendering of outcome records (see outcome.hpp).
#include "spool/outcome.hpp"

#include <fmt/format.h>

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
  std::string out = fmt::format("{{\"v\":{},\"line\":{},\"requestId\":", kOutcomeFormatVersion, r.line);
  append_json_string(out, r.request_id);
  out += ",\"jobId\":";
  if (r.job_id.empty()) {
    out += "null";
  } else {
    append_json_string(out, r.job_id);
  }
  out += fmt::format(",\"status\":\"{}\",\"acceptedAt\":\"{}\",\"finishedAt\":\"{}\",\"attempts\":{}",
                     status_name(r.status), rfc3339(r.accepted_at), rfc3339(r.finished_at),
                     r.attempts);
  if (r.error) {
    out += ",\"error\":{\"stage\":";
    append_json_string(out, r.error->stage);
    if (r.error->http_status != 0) out += fmt::format(",\"httpStatus\":{}", r.error->http_status);
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
