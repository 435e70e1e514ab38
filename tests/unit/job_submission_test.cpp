// Role: drives one request's submission state machine step by step with scripted replies:
// the documented call order, deferral of transient trouble, the at-most-one-job rules
// (check the job before re-sending run), final failures with the API's message, give-up age.
#include "submit/job_submission.hpp"
#include "submit/run_body.hpp"

#include <gtest/gtest.h>

#include "submission_replies.hpp"

using namespace std::chrono_literals;
using namespace submitd;
using submit::JobSubmission;
using submit::Stage;
using Kind = JobSubmission::Step::Kind;
using namespace submitd::replies;

namespace {

class JobSubmissionTest : public SubmissionFixture {
 protected:
  JobSubmission make(spool::JobRequest r = sample_request(), bool recovered = false) {
    return submission(std::move(r), recovered ? JobSubmission::Resume::unknown : JobSubmission::Resume::none);
  }
};

}  // namespace

TEST_F(JobSubmissionTest, HappyPathFollowsTheDocumentedOrder) {
  auto s = make();
  auto c = s.current_call();
  EXPECT_EQ(c.endpoint, api::Endpoint::create);
  EXPECT_EQ(c.target, "/v1/customer/jobs");
  EXPECT_NE(c.body.find(R"("jobId":")" + job_id + "\""), std::string::npos);
  EXPECT_NE(c.body.find(R"("name":"req-1")"), std::string::npos);  // name defaults to requestId
  EXPECT_EQ(feed(s, ok()).kind, Kind::call);

  c = s.current_call();
  EXPECT_EQ(c.endpoint, api::Endpoint::datasource);
  EXPECT_EQ(c.target, "/v1/customer/jobs/" + job_id + "/datasource");
  EXPECT_NE(c.body.find(R"("dataDestination":{"dataSourceDescriptor":"bypass"})"), std::string::npos);
  EXPECT_EQ(feed(s, ok()).kind, Kind::call);

  c = s.current_call();
  EXPECT_EQ(c.endpoint, api::Endpoint::params);
  EXPECT_EQ(c.body, R"({"app":{"prompt":"A sunset"}})");
  EXPECT_EQ(feed(s, ok()).kind, Kind::call);

  c = s.current_call();
  EXPECT_EQ(c.endpoint, api::Endpoint::run);
  EXPECT_EQ(c.body, R"({"isTestJob":true})");
  EXPECT_FALSE(c.replay_safe);
  EXPECT_EQ(feed(s, ok()).kind, Kind::finished);
  EXPECT_EQ(s.status(), spool::SubmitStatus::submitted);
  EXPECT_EQ(s.attempts(), 4);
}

TEST_F(JobSubmissionTest, AbsentParamsSkipsThatCall) {
  auto s = make(sample_request(false));
  feed(s, ok());
  feed(s, ok());
  EXPECT_EQ(s.current_call().endpoint, api::Endpoint::run);
}

TEST_F(JobSubmissionTest, TransientTroubleIsDeferredWithBackoffAndRetryAfter) {
  auto s = make();
  auto step = feed(s, status(503), 0.5);
  EXPECT_EQ(step.kind, Kind::wait);
  EXPECT_EQ(step.delay, 100ms);  // half of the 200 ms base
  EXPECT_EQ(s.current_call().endpoint, api::Endpoint::create);  // same call again

  auto busy = status(429);
  busy.http.retry_after = "7";
  step = feed(s, busy, 0.5);
  EXPECT_EQ(step.kind, Kind::wait);
  EXPECT_EQ(step.delay, 7000ms);
  EXPECT_EQ(feed(s, ok()).kind, Kind::call);
  EXPECT_EQ(s.current_call().endpoint, api::Endpoint::datasource);
}

TEST_F(JobSubmissionTest, LostRunAnswerChecksTheJobAndDoesNotRunTwice) {
  auto s = make();
  feed(s, ok());
  feed(s, ok());
  feed(s, ok());
  ASSERT_EQ(s.current_call().endpoint, api::Endpoint::run);
  EXPECT_EQ(feed(s, lost()).kind, Kind::wait);
  auto c = s.current_call();
  EXPECT_EQ(c.endpoint, api::Endpoint::get);  // look before re-running
  EXPECT_EQ(c.target, "/v1/customer/jobs/" + job_id);
  EXPECT_EQ(feed(s, job_in_state("JOB_STATE_PARTITIONING")).kind, Kind::finished);
  EXPECT_EQ(s.status(), spool::SubmitStatus::submitted);
}

TEST_F(JobSubmissionTest, LostRunThatDidNotTakeIsSentAgain) {
  auto s = make();
  feed(s, ok());
  feed(s, ok());
  feed(s, ok());
  feed(s, lost());
  EXPECT_EQ(feed(s, job_in_state("JOB_STATE_NEW")).kind, Kind::call);
  EXPECT_EQ(s.current_call().endpoint, api::Endpoint::run);
  EXPECT_EQ(feed(s, ok()).kind, Kind::finished);
  EXPECT_EQ(s.status(), spool::SubmitStatus::submitted);
}

TEST_F(JobSubmissionTest, RecoveredRequestLooksFirst) {
  auto started = make(sample_request(), true);
  EXPECT_EQ(started.current_call().endpoint, api::Endpoint::get);
  EXPECT_EQ(feed(started, job_in_state("JOB_STATE_RUNNING")).kind, Kind::finished);
  EXPECT_EQ(started.status(), spool::SubmitStatus::submitted);

  auto never_created = make(sample_request(), true);
  EXPECT_EQ(feed(never_created, status(404)).kind, Kind::call);
  EXPECT_EQ(never_created.current_call().endpoint, api::Endpoint::create);

  auto draft = make(sample_request(), true);
  feed(draft, job_in_state("JOB_STATE_NEW"));
  EXPECT_EQ(draft.current_call().endpoint, api::Endpoint::create);  // configure it fully again
}

TEST_F(JobSubmissionTest, ContentErrorsFailWithTheApiMessage) {
  auto s = make();
  feed(s, ok());
  auto step = feed(s, status(400, R"({"code":3,"message":"unknown dataSourceDescriptor \"ftp\""})"));
  EXPECT_EQ(step.kind, Kind::finished);
  EXPECT_EQ(s.status(), spool::SubmitStatus::failed);
  ASSERT_TRUE(s.error());
  EXPECT_EQ(s.error()->stage, "datasource");
  EXPECT_EQ(s.error()->http_status, 400);
  EXPECT_EQ(s.error()->message, "HTTP 400: unknown dataSourceDescriptor \"ftp\"");
}

TEST_F(JobSubmissionTest, RejectedKeyNeverFailsTheRequestAndIsRetriedSlowly) {
  auto s = make();
  api::ApiReply r;
  r.token_unavailable = true;
  r.key_rejected = true;
  r.token_error = "token exchange refused: HTTP 401 (check the API key)";
  r.http.status = 401;
  auto step = feed(s, r, 0.1);
  EXPECT_EQ(step.kind, Kind::wait);
  EXPECT_GE(step.delay, 60000ms);
  EXPECT_FALSE(s.finished());
}

TEST_F(JobSubmissionTest, GivesUpOnlyAfterTheConfiguredAge) {
  options.give_up_after = 3600s;
  auto s = make();
  clock.advance(3599s);
  EXPECT_EQ(feed(s, status(503)).kind, Kind::wait);
  clock.advance(1s);
  EXPECT_EQ(feed(s, status(503)).kind, Kind::finished);
  ASSERT_TRUE(s.error());
  EXPECT_EQ(s.error()->stage, "create");
  EXPECT_NE(s.error()->message.find("gave up after 3600 s"), std::string::npos);
}

TEST_F(JobSubmissionTest, UntrustedCertificateIsRetriedSlowlyAndGivesUpOnTimeWithTheReason) {
  options.give_up_after = 90s;
  auto s = make();
  api::ApiReply r;
  r.http.failure = api::TransportFailure::certificate;
  r.http.failure_detail =
      "TLS handshake with api.example:443 failed: certificate not accepted: self-signed certificate";
  auto step = feed(s, r, 0.1);
  EXPECT_EQ(step.kind, Kind::wait);
  EXPECT_EQ(step.delay, 60000ms);  // blocked_delay, not the short backoff
  clock.advance(step.delay);
  step = feed(s, r, 0.1);
  EXPECT_EQ(step.delay, 30000ms);  // not past the give-up age
  clock.advance(step.delay);
  EXPECT_EQ(feed(s, r).kind, Kind::finished);
  ASSERT_TRUE(s.error());
  EXPECT_NE(s.error()->message.find("certificate not accepted: self-signed certificate"), std::string::npos)
      << s.error()->message;
  EXPECT_EQ(s.error()->http_status, 0);
}

TEST_F(JobSubmissionTest, WaitNeverOvershootsTheGiveUpAge) {
  options.give_up_after = 10s;
  options.timing.cap = 60s;
  auto s = make();
  clock.advance(9500ms);
  auto r = status(503);
  r.http.retry_after = "120";
  auto step = feed(s, r, 0.99);
  EXPECT_EQ(step.kind, Kind::wait);
  EXPECT_EQ(step.delay, 500ms);
}

TEST_F(JobSubmissionTest, JournalSaysConfiguredSoADraftOnlyNeedsItsRun) {
  JobSubmission s(sample_request(), job_id, paths, options, clock.now(), JobSubmission::Resume::configured);
  EXPECT_EQ(s.current_call().endpoint, api::Endpoint::get);
  EXPECT_EQ(feed(s, job_in_state("JOB_STATE_NEW")).kind, Kind::call);
  EXPECT_EQ(s.current_call().endpoint, api::Endpoint::run);
  EXPECT_EQ(feed(s, ok()).kind, Kind::finished);
  EXPECT_EQ(s.status(), spool::SubmitStatus::submitted);

  // An answer without a readable state is read again: never a run (or a create) sent blind.
  JobSubmission unsure(sample_request(), job_id, paths, options, clock.now(), JobSubmission::Resume::configured);
  auto step = feed(unsure, ok("{}"));
  EXPECT_EQ(step.kind, Kind::wait);
  EXPECT_EQ(unsure.current_call().endpoint, api::Endpoint::get);
  step = feed(unsure, ok(R"({"job":{"id":"j"}})"));
  EXPECT_EQ(step.kind, Kind::wait);
  EXPECT_EQ(unsure.current_call().endpoint, api::Endpoint::get);
  EXPECT_EQ(feed(unsure, job_in_state("JOB_STATE_NEW")).kind, Kind::call);
  EXPECT_EQ(unsure.current_call().endpoint, api::Endpoint::run);
  EXPECT_EQ(feed(unsure, ok()).kind, Kind::finished);

  // A lost run whose job cannot be read does not give up early and never runs twice.
  auto lost_run = make();
  feed(lost_run, ok());
  feed(lost_run, ok());
  feed(lost_run, ok());
  ASSERT_EQ(lost_run.current_call().endpoint, api::Endpoint::run);
  feed(lost_run, lost());
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(lost_run.current_call().endpoint, api::Endpoint::get);
    EXPECT_EQ(feed(lost_run, ok("not json")).kind, Kind::wait);
  }
  EXPECT_EQ(feed(lost_run, job_in_state("JOB_STATE_RUNNING")).kind, Kind::finished);
  EXPECT_EQ(lost_run.status(), spool::SubmitStatus::submitted);
}

TEST(RunBody, ForcedTestJobsOverrideWhateverTheRequestSaid) {
  EXPECT_EQ(submit::run_body("", false), "{}");
  EXPECT_EQ(submit::run_body(R"({"jobTimeout":60, "isTestJob": false})", false), R"({"jobTimeout":60, "isTestJob": false})");
  EXPECT_EQ(submit::run_body("", true), R"({"isTestJob":true})");
  EXPECT_EQ(submit::run_body(R"({"jobTimeout":60, "isTestJob": false, "taskTimeout": 5})", true),
            R"({"jobTimeout":60,"taskTimeout":5,"isTestJob":true})");
  EXPECT_EQ(submit::run_body(R"({"nested":{"a":[1,2]}})", true), R"({"nested":{"a":[1,2]},"isTestJob":true})");
}

TEST_F(JobSubmissionTest, AbortBeforeTheFirstCallEndsItWithNoDraftToDelete) {
  auto s = make();
  EXPECT_EQ(s.abort_before_run("aborted"), JobSubmission::AbortBeforeRun::abandoned);
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(s.status(), spool::SubmitStatus::failed);
  ASSERT_TRUE(s.error());
  EXPECT_EQ(s.error()->stage, "create");
  EXPECT_EQ(s.error()->message, "aborted");
}

TEST_F(JobSubmissionTest, AbortAfterACreateWasSentSaysADraftMayExist) {
  // A create whose answer was lost may have made the job: its abort must be sent.
  auto lost_create = make();
  feed(lost_create, lost());
  EXPECT_EQ(lost_create.stage(), Stage::create);
  EXPECT_EQ(lost_create.abort_before_run("aborted"), JobSubmission::AbortBeforeRun::abandoned_with_draft);
  EXPECT_TRUE(lost_create.finished());

  auto configured = make();
  feed(configured, ok());  // created
  feed(configured, ok());  // datasource
  EXPECT_EQ(configured.stage(), Stage::params);
  EXPECT_EQ(configured.abort_before_run("aborted"), JobSubmission::AbortBeforeRun::abandoned_with_draft);
  EXPECT_EQ(configured.error()->stage, "params");
}

TEST_F(JobSubmissionTest, AbortFromTheRunOnIsTooLateAndChangesNothing) {
  auto s = make();
  feed(s, ok());
  feed(s, ok());
  feed(s, ok());
  ASSERT_EQ(s.stage(), Stage::run);
  EXPECT_EQ(s.abort_before_run("aborted"), JobSubmission::AbortBeforeRun::too_late);
  EXPECT_FALSE(s.finished());
  EXPECT_EQ(s.current_call().endpoint, api::Endpoint::run);

}

TEST_F(JobSubmissionTest, AStopWhileTheJobIsReadIsDecidedByTheJobsState) {
  // Recovered: the job is read first, since a run may have gone out before the restart.
  auto still_new = make(sample_request(), true);
  ASSERT_EQ(still_new.stage(), Stage::check_run);
  EXPECT_EQ(still_new.abort_before_run("cancelled by the operator", "cancelled"),
            JobSubmission::AbortBeforeRun::when_read);
  EXPECT_FALSE(still_new.finished());
  EXPECT_EQ(still_new.current_call().endpoint, api::Endpoint::get);
  EXPECT_EQ(feed(still_new, job_in_state("JOB_STATE_NEW")).kind, Kind::finished);  // not run
  EXPECT_EQ(still_new.status(), spool::SubmitStatus::failed);
  EXPECT_EQ(still_new.error()->stage, "cancelled");
  EXPECT_EQ(still_new.error()->message, "cancelled by the operator");
  EXPECT_TRUE(still_new.draft_left());

  auto ran = make(sample_request(), true);
  EXPECT_EQ(ran.abort_before_run("aborted"), JobSubmission::AbortBeforeRun::when_read);
  EXPECT_EQ(feed(ran, job_in_state("JOB_STATE_RUNNING")).kind, Kind::finished);  // the earlier run took
  EXPECT_EQ(ran.status(), spool::SubmitStatus::submitted);
  EXPECT_FALSE(ran.draft_left());
}

TEST_F(JobSubmissionTest, ACancelNamesItsOwnStage) {
  auto s = make();
  feed(s, ok());  // created
  EXPECT_EQ(s.abort_before_run("cancelled", "cancelled"), JobSubmission::AbortBeforeRun::abandoned_with_draft);
  EXPECT_EQ(s.error()->stage, "cancelled");
}

TEST_F(JobSubmissionTest, ForceTestJobsShapesTheRunCall) {
  options.force_test_jobs = true;
  auto r = sample_request();
  r.config_json = R"({"isTestJob":false,"jobTimeout":10})";
  auto forced = make(r);
  feed(forced, ok());
  feed(forced, ok());
  feed(forced, ok());
  ASSERT_EQ(forced.current_call().endpoint, api::Endpoint::run);
  EXPECT_EQ(forced.current_call().body, R"({"jobTimeout":10,"isTestJob":true})");
}
