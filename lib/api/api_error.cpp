// Role: defensive parsing of API error bodies (see api_error.hpp).
#include "api/api_error.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include "util/utf8.hpp"

namespace submitd::api {
namespace {

// Error text from the server ends up in outcome files; keep it printable and short.
std::string sanitize(std::string_view text, std::size_t limit = 300) {
  bool cut = text.size() > limit;
  if (cut) text = utf8_prefix(text, limit);  // never half of a multi-byte character
  std::string out;
  out.reserve(text.size() + 3);
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    out.push_back(c < 0x20 || c == 0x7F ? ' ' : ch);
  }
  if (cut) out += "...";
  return out;
}

std::string status_text(int status) {
  switch (status) {
    case 400: return "bad request";
    case 401: return "not authenticated";
    case 403: return "permission denied";
    case 404: return "not found";
    case 409: return "conflict";
    case 422: return "unprocessable request";
    case 429: return "too many requests";
    case 500: return "server error";
    case 502: return "bad gateway";
    case 503: return "service unavailable";
    case 504: return "gateway timeout";
    default: return "unexpected status";
  }
}

std::string string_field(simdjson::dom::element e, const char* key) {
  auto v = e[key];
  if (v.error() || !v.is_string()) return {};
  return std::string(std::string_view(v.get_string().value_unsafe()));
}

}  // namespace

ApiError parse_api_error(int http_status, std::string_view body) {
  ApiError err;
  err.http_status = http_status;
  std::string fallback = fmt::format("HTTP {} ({})", http_status, status_text(http_status));
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root;
  if (body.empty() || parser.parse(padded).get(root) || !root.is_object()) {
    err.message = fallback;
    return err;
  }
  std::string message = string_field(root, "message");
  std::string detail;
  auto error = root["error"];
  if (!error.error() && error.is_object()) {
    // GenericResponse: the inner error says more than the outer "Request failed".
    std::string inner = string_field(error.value_unsafe(), "message");
    std::string description = string_field(error.value_unsafe(), "description");
    detail = inner;
    if (!description.empty()) detail += detail.empty() ? description : ": " + description;
  } else if (!error.error() && error.is_string()) {
    detail = std::string(std::string_view(error.get_string().value_unsafe()));
  }
  std::string text;
  if (!message.empty() && !detail.empty() && message != detail) {
    text = message + ": " + detail;
  } else if (!detail.empty()) {
    text = detail;
  } else {
    text = message;
  }
  err.message = text.empty() ? fallback : fmt::format("HTTP {}: {}", http_status, sanitize(text));
  return err;
}

}  // namespace submitd::api
