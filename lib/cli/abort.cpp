// Role: the abort command's pieces (see abort.hpp).
#include "cli/abort.hpp"
#include "cli/exit_codes.hpp"

#include <simdjson.h>

namespace submitd::cli {

namespace {

constexpr std::string_view kIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";

// The string member `key` of a JSON object body, or `fallback` when there is none.
std::string member(simdjson::dom::element doc, const char* key, std::string_view fallback) {
  std::string_view value;
  if (doc[key].get(value)) return std::string(fallback);
  return std::string(value);
}

}  // namespace

bool is_request_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 && id.find_first_not_of(kIdAlphabet) == std::string_view::npos;
}

std::string path_segment(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    bool plain = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
                 u == '.' || u == '_' || u == '~' || u == ':';
    if (plain) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

AbortReport describe_abort_reply(std::string_view request_id, const ControlReply& reply) {
  AbortReport r;
  if (reply.status == 0) {
    r.err = reply.error;  // no answer: nothing is known to have happened
    return r;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const bool json = !parser.parse(simdjson::padded_string(reply.body)).get(doc) && doc.is_object();
  const std::string error = json ? member(doc, "error", reply.body) : reply.body;
  std::string job_id;
  if (json) job_id = member(doc, "jobId", "");

  switch (reply.status) {
    case 202: {
      // Taken, whatever else the body says: a script must not ask again.
      r.exit_code = 0;
      const std::string id = json ? member(doc, "requestId", request_id) : std::string(request_id);
      const std::string how = json ? member(doc, "abort", "requested") : "requested";
      r.out = "abort " + how + " for request " + id;
      if (!job_id.empty()) r.out += " (job " + job_id + ")";
      const std::string message = json ? member(doc, "message", "") : reply.body;
      if (!message.empty()) r.out += ": " + message;
      return r;
    }
    case 404:
      r.exit_code = 1;
      r.err = error;
      return r;
    case 409:
      r.exit_code = 1;
      r.err = error + " (request " + std::string(request_id) + (job_id.empty() ? "" : ", job " + job_id) + ")";
      return r;
    case 400:
      r.err = error;
      return r;
    case 405:
      r.err = "this daemon does not offer abort (HTTP 405: " + error + "); is it older than this client?";
      return r;
    default:
      r.exit_code = exit_code_of(reply) == kTemporary ? kTemporary : kUsage;
      r.err = "the daemon did not take the abort (HTTP " + std::to_string(reply.status) + "): " + error;
      return r;
  }
}

AbortReport abort_request(const std::filesystem::path& socket, const std::string& request_id) {
  if (!is_request_id(request_id)) {
    AbortReport r;
    r.err = "'" + request_id + "' is not a requestId (1 to 128 of A-Z a-z 0-9 . _ : -)";
    return r;
  }
  return describe_abort_reply(request_id,
                              control_request(socket, "POST", "/v1/jobs/" + path_segment(request_id) + "/abort", ""));
}

}  // namespace submitd::cli
