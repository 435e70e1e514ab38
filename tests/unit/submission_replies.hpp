// Role: the scripted API replies and the sample request that the submission state machine's
// tests feed it (job_submission_test, job_submission_upload_test).
#pragma once

#include <string>

#include "api/api_client.hpp"
#include "spool/request_parser.hpp"

namespace submitd::replies {

inline spool::JobRequest sample_request(bool with_params = true) {
  spool::JobRequest r;
  r.line = 1;
  r.request_id = "req-1";
  r.template_id = "img-gen";
  r.data_source_json = R"({"dataSourceDescriptor":"url","params":{"url":"https://x/in"}})";
  if (with_params) r.params_json = R"({"app":{"prompt":"A sunset"}})";
  r.config_json = R"({"isTestJob":true})";
  return r;
}

inline api::ApiReply ok(std::string body = "{}") {
  api::ApiReply r;
  r.http.status = 200;
  r.http.body = std::move(body);
  return r;
}
inline api::ApiReply status(int s, std::string body = "") {
  api::ApiReply r;
  r.http.status = s;
  r.http.body = std::move(body);
  return r;
}
inline api::ApiReply lost() {
  api::ApiReply r;
  r.http.failure = api::TransportFailure::reset;
  r.http.failure_detail = "connection lost before the response";
  return r;
}
inline api::ApiReply job_in_state(const std::string& state) {
  return ok(R"({"job":{"id":"j","state":")" + state + R"("}})");
}

}  // namespace submitd::replies
