// Role: the success-body readers (see responses.hpp).
#include "api/responses.hpp"

#include <simdjson.h>

#include <charconv>
#include <cstdint>

#include "util/header_text.hpp"
#include "util/utf8.hpp"

namespace submitd::api {

std::optional<TokenGrant> parse_token_response(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) || !root.is_object()) return std::nullopt;
  std::string_view token;
  if (root["token"].get(token) || token.empty()) return std::nullopt;
  // The token goes into a header as is: a control character or a space there (after JSON
  // unescaping) would end the header or add one, so such a grant is unreadable.
  if (!is_single_token(token)) return std::nullopt;
  std::int64_t seconds = 0;
  auto expires = root["expiresIn"];
  if (expires.error()) return std::nullopt;
  if (expires.is_string()) {
    std::string_view text = expires.get_string().value_unsafe();
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc{} || p != text.data() + text.size()) return std::nullopt;
  } else if (expires.is_int64()) {
    seconds = expires.get_int64().value_unsafe();
  } else if (expires.is_uint64()) {
    seconds = static_cast<std::int64_t>(expires.get_uint64().value_unsafe());
  } else {
    return std::nullopt;
  }
  if (seconds <= 0) return std::nullopt;
  return TokenGrant{std::string(token), std::chrono::seconds(seconds)};
}

namespace {

// The string at `pointer` (RFC 6901) in a JSON body; empty when absent, not a string, or
// longer than `max_bytes`.
std::string string_at(std::string_view body, std::string_view pointer, std::size_t max_bytes) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root)) return {};
  std::string_view text;
  if (root.at_pointer(pointer).get(text) || text.size() > max_bytes) return {};
  return std::string(text);
}

}  // namespace

std::string job_state_from_body(std::string_view body) {
  return string_at(body, "/job/state", std::string_view::npos);
}

std::string temp_url_from_body(std::string_view body) {
  return string_at(body, "/job/dataSource/params/tempUrl", kMaxTempUrlBytes);
}

namespace {

// A string field cut to kMaxFieldBytes on a UTF-8 character boundary.
std::string bounded(std::string_view text) {
  return std::string(utf8_prefix(text, kMaxFieldBytes));
}

std::string string_field(simdjson::dom::element e, const char* key) {
  std::string_view v;
  if (e[key].get(v)) return {};
  return bounded(v);
}

// An int64 written as a JSON number or as a decimal string (grpc-gateway's int64).
std::optional<std::int64_t> int_field(simdjson::dom::element e, const char* key) {
  auto v = e[key];
  if (v.error()) return std::nullopt;
  if (v.is_int64()) return v.get_int64().value_unsafe();
  if (v.is_uint64()) {
    auto u = v.get_uint64().value_unsafe();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (v.is_string()) {
    std::string_view text = v.get_string().value_unsafe();
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc{} && p == text.data() + text.size() && !text.empty()) return n;
  }
  return std::nullopt;
}

std::optional<JobSeen> job_of(simdjson::dom::element e) {
  if (!e.is_object()) return std::nullopt;
  JobSeen job;
  job.id = string_field(e, "id");
  if (job.id.empty()) return std::nullopt;
  job.state = string_field(e, "state");
  job.error_message = string_field(e, "errorMessage");
  job.started_at = string_field(e, "startedAt");
  job.ended_at = string_field(e, "endedAt");
  job.duration_s = int_field(e, "duration");
  return job;
}

}  // namespace

std::optional<JobSeen> parse_job_response(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) || !root.is_object()) return std::nullopt;
  simdjson::dom::element job;
  if (root["job"].get(job)) return std::nullopt;
  return job_of(job);
}

std::optional<JobListPage> parse_job_list(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) || !root.is_object()) return std::nullopt;
  JobListPage page;
  simdjson::dom::array data;
  if (!root["data"].get(data)) {
    for (auto item : data) {
      if (auto job = job_of(item)) page.jobs.push_back(std::move(*job));
    }
  } else if (!root["data"].error() && !root["data"].is_null()) {
    return std::nullopt;  // "data" of another type: not a list answer
  }
  simdjson::dom::element pagination;
  if (!root["pagination"].get(pagination) && pagination.is_object()) {
    auto total = int_field(pagination, "total");
    page.total = total && *total > 0 ? static_cast<std::uint64_t>(*total) : 0;
    bool has_next = false;
    if (!pagination["hasNext"].get(has_next)) page.has_next = has_next;
  }
  return page;
}

std::optional<std::vector<JobResult>> parse_job_results(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) || !root.is_object()) return std::nullopt;
  std::vector<JobResult> results;
  simdjson::dom::array list;
  if (root["results"].get(list)) {
    if (root["results"].error() || root["results"].is_null()) return results;  // none
    return std::nullopt;
  }
  for (auto item : list) {
    if (results.size() >= kMaxResults) break;
    if (!item.is_object()) continue;
    JobResult r{string_field(item, "name"), string_field(item, "link")};
    if (!r.name.empty() || !r.link.empty()) results.push_back(std::move(r));
  }
  return results;
}

}  // namespace submitd::api
