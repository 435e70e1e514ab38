// Role: a request with an inputFile through the submission state machine: the upload (a PUT
// of the file to the tempUrl the datasource answer gave) and uploadcompleted between the
// datasource and params calls; its retries and refusals; and recovery, where a journaled
// upload is not sent again while the job is still a draft.
#include <gtest/gtest.h>

#include "submission_replies.hpp"
#include "submit/job_submission.hpp"

using namespace std::chrono_literals;
using namespace submitd;
using namespace submitd::replies;
using submit::JobSubmission;
using submit::Stage;
using Kind = JobSubmission::Step::Kind;

namespace {

constexpr std::string_view kTempUrl = "https://storage.example:8443/upload/j?sig=abc";

spool::JobRequest upload_request() {
  spool::JobRequest r = sample_request();
  r.data_source_json = R"({"dataSourceDescriptor":"file"})";
  r.input_file = "in.bin";
  r.input_size = 12345;
  return r;
}

api::ApiReply datasource_answer(std::string_view temp_url = kTempUrl) {
  return ok(R"({"job":{"id":"j","dataSource":{"dataSourceDescriptor":"file","params":{"tempUrl":")" +
            std::string(temp_url) + R"("}}}})");
}

class UploadSubmission : public SubmissionFixture {
 protected:
  JobSubmission make(JobSubmission::Resume resume = JobSubmission::Resume::none) {
    return submission(upload_request(), resume);
  }
  // Create and datasource answered: the submission is at its upload.
  JobSubmission at_upload() {
    auto s = make();
    feed(s, ok());
    feed(s, datasource_answer());
    return s;
  }
};

}  // namespace

TEST_F(UploadSubmission, UploadsBetweenDatasourceAndParams) {
  auto s = make();
  EXPECT_EQ(s.current_call().endpoint, api::Endpoint::create);
  feed(s, ok());
  EXPECT_EQ(s.current_call().endpoint, api::Endpoint::datasource);
  EXPECT_EQ(feed(s, datasource_answer()).kind, Kind::call);

  auto put = s.current_call();
  EXPECT_EQ(s.stage(), Stage::upload);
  EXPECT_EQ(put.endpoint, api::Endpoint::upload);
  EXPECT_EQ(put.method, api::Method::put);
  EXPECT_EQ(put.target, kTempUrl);  // the whole URL: the driver routes it to the storage host
  EXPECT_EQ(put.file_body.size, 12345u);
  EXPECT_TRUE(put.replay_safe);
  EXPECT_TRUE(put.authorization.empty());
  EXPECT_EQ(feed(s, ok()).kind, Kind::call);

  auto done = s.current_call();
  EXPECT_EQ(done.endpoint, api::Endpoint::upload_completed);
  EXPECT_EQ(done.method, api::Method::patch);
  EXPECT_EQ(done.target, "/v1/customer/jobs/" + job_id + "/uploadcompleted");
  feed(s, ok());
  EXPECT_EQ(s.current_call().endpoint, api::Endpoint::params);
  feed(s, ok());
  EXPECT_EQ(s.current_call().endpoint, api::Endpoint::run);
  EXPECT_EQ(feed(s, ok()).kind, Kind::finished);
  EXPECT_EQ(s.status(), spool::SubmitStatus::submitted);
  EXPECT_EQ(s.attempts(), 6);
}

TEST_F(UploadSubmission, ADatasourceAnswerWithoutTempUrlFailsThere) {
  auto s = make();
  feed(s, ok());
  EXPECT_EQ(feed(s, ok(R"({"job":{"id":"j","dataSource":{"dataSourceDescriptor":"file"}}})")).kind,
            Kind::finished);
  ASSERT_TRUE(s.error());
  EXPECT_EQ(s.error()->stage, "datasource");
  EXPECT_NE(s.error()->message.find("tempUrl"), std::string::npos);
}

TEST_F(UploadSubmission, TransientStorageTroubleRetriesTheUploadItself) {
  auto s = at_upload();
  auto step = feed(s, status(503));
  EXPECT_EQ(step.kind, Kind::wait);
  EXPECT_EQ(s.stage(), Stage::upload);
  EXPECT_EQ(feed(s, lost()).kind, Kind::wait);  // a reset mid-body
  EXPECT_EQ(s.stage(), Stage::upload);
  EXPECT_EQ(s.current_call().target, kTempUrl);  // the same URL again
  EXPECT_EQ(feed(s, ok()).kind, Kind::call);
  EXPECT_EQ(s.stage(), Stage::upload_done);
}

TEST_F(UploadSubmission, ARefusedUploadFailsAtUploadWithItsStatus) {
  auto s = at_upload();
  EXPECT_EQ(feed(s, status(403, R"({"code":7,"message":"the upload URL's signature is not valid"})")).kind,
            Kind::finished);
  ASSERT_TRUE(s.error());
  EXPECT_EQ(s.error()->stage, "upload");
  EXPECT_EQ(s.error()->http_status, 403);
  EXPECT_EQ(s.status(), spool::SubmitStatus::failed);
}

TEST_F(UploadSubmission, AnInputThatCannotBeSentFailsAtUpload) {
  auto s = at_upload();
  s.fail_upload("inputFile changed after it was validated");
  EXPECT_TRUE(s.finished());
  ASSERT_TRUE(s.error());
  EXPECT_EQ(s.error()->stage, "upload");
  EXPECT_EQ(s.error()->http_status, 0);
}

TEST_F(UploadSubmission, AnAbortDuringTheUploadLeavesADraftToDelete) {
  auto s = at_upload();
  EXPECT_EQ(s.abort_before_run("aborted"), JobSubmission::AbortBeforeRun::abandoned_with_draft);
  EXPECT_EQ(s.error()->stage, "upload");
}

TEST_F(UploadSubmission, AJournaledUploadIsNotSentAgainForADraft) {
  auto s = make(JobSubmission::Resume::uploaded);
  EXPECT_EQ(s.current_call().endpoint, api::Endpoint::get);
  feed(s, job_in_state("JOB_STATE_NEW"));
  EXPECT_EQ(s.current_call().endpoint, api::Endpoint::upload_completed);
  feed(s, ok());
  EXPECT_EQ(s.current_call().endpoint, api::Endpoint::params);
  feed(s, ok());
  EXPECT_EQ(feed(s, ok()).kind, Kind::finished);
  EXPECT_EQ(s.status(), spool::SubmitStatus::submitted);
}

TEST_F(UploadSubmission, AJournaledUploadOfAStartedJobIsLeftAlone) {
  auto s = make(JobSubmission::Resume::uploaded);
  EXPECT_EQ(feed(s, job_in_state("JOB_STATE_RUNNING")).kind, Kind::finished);
  EXPECT_EQ(s.status(), spool::SubmitStatus::submitted);
  EXPECT_EQ(s.attempts(), 1);
}

TEST_F(UploadSubmission, WithoutAJournaledUploadARecoveredDraftUploadsAgain) {
  auto s = make(JobSubmission::Resume::unknown);
  feed(s, job_in_state("JOB_STATE_NEW"));
  EXPECT_EQ(s.current_call().endpoint, api::Endpoint::create);
  feed(s, ok());
  feed(s, datasource_answer("https://storage.example/upload/j?sig=new"));
  EXPECT_EQ(s.stage(), Stage::upload);
  EXPECT_EQ(s.current_call().target, "https://storage.example/upload/j?sig=new");
}
