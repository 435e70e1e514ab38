// Role: the scripted API replies, the sample request and the fixture that the submission
// state machine's tests share (job_submission_test, job_submission_upload_test).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "api/api_client.hpp"
#include "spool/request_parser.hpp"
#include "submit/job_submission.hpp"

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

// A submission under test, on a manual clock, and the feeding of replies to it.
class SubmissionFixture : public ::testing::Test {
 protected:
  ManualClock clock;
  submit::JobPaths paths{"/v1/customer"};
  submit::SubmissionOptions options;
  const std::string job_id = "11111111-2222-5333-8444-555555555555";

  submit::JobSubmission submission(spool::JobRequest r, submit::JobSubmission::Resume resume) {
    return submit::JobSubmission(std::move(r), job_id, paths, options, clock.now(), resume);
  }
  submit::JobSubmission::Step feed(submit::JobSubmission& s, const api::ApiReply& r, double jitter = 0.5) {
    return s.on_reply(r, clock.now(), clock.wall_now(), jitter);
  }
};

}  // namespace submitd::replies
