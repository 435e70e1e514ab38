// Role: the end-of-request and end-of-file decisions taken out of the coroutines: a requestId's
// fate, the follow give-up time, a worked file's end, a held file's readiness; and the abort
// call's retries and the abort-by-requestId plan.
#include "submit/abort_call.hpp"
#include "submit/request_rules.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using namespace submitd;
using namespace submitd::submit;
using spool::SubmitStatus;

namespace {

spool::OutcomeError error_at(std::string stage) { return {std::move(stage), 400, "refused"}; }

api::ApiReply reply_with(int status, std::string retry_after = "") {
  api::ApiReply r;
  r.http.status = status;
  r.http.retry_after = std::move(retry_after);
  return r;
}

journal::FollowedRow row(std::uint64_t line, std::string final) {
  return journal::FollowedRow{"job-" + std::to_string(line), "c", line, 0, std::move(final)};
}

}  // namespace

TEST(RequestIdFate, AGivenIdIsReleasedOnlyWhenNoRunCouldHaveBeenSent) {
  EXPECT_EQ(request_id_fate(true, SubmitStatus::failed, error_at("validate")), RequestIdFate::release);
  EXPECT_EQ(request_id_fate(true, SubmitStatus::failed, error_at("create")), RequestIdFate::release);
  EXPECT_EQ(request_id_fate(true, SubmitStatus::failed, error_at("params")), RequestIdFate::release);
  // A run went out: the job may exist and be running, so the id stays claimed.
  EXPECT_EQ(request_id_fate(true, SubmitStatus::failed, error_at("run")), RequestIdFate::keep);
  EXPECT_EQ(request_id_fate(true, SubmitStatus::submitted, std::nullopt), RequestIdFate::keep);
}

TEST(RequestIdFate, DuplicatesAndDaemonNamedRequestsLeaveTheIndexAlone) {
  // A duplicate's record names the earlier job: it must not overwrite that job's entry.
  EXPECT_EQ(request_id_fate(true, SubmitStatus::duplicate, std::nullopt), RequestIdFate::none);
  EXPECT_EQ(request_id_fate(false, SubmitStatus::submitted, std::nullopt), RequestIdFate::none);
  EXPECT_EQ(request_id_fate(false, SubmitStatus::failed, error_at("create")), RequestIdFate::none);
}

TEST(FollowGiveUp, TheRequestsOwnJobTimeoutPlusTheMargin) {
  const WallTime at = WallTime(std::chrono::seconds(1'000'000));
  EXPECT_EQ(follow_give_up_at(at, R"({"jobTimeout":600})", 86400s, 3600s), at + 600s + 3600s);
  EXPECT_EQ(follow_give_up_at(at, R"({"jobTimeout":"120"})", 86400s, 60s), at + 120s + 60s);
  // None given, or unusable: the default.
  EXPECT_EQ(follow_give_up_at(at, R"({"isTestJob":true})", 86400s, 3600s), at + 86400s + 3600s);
  EXPECT_EQ(follow_give_up_at(at, "", 100s, 0s), at + 100s);
}

TEST(FileEnd, InterruptedOrUnwrittenStaysOtherwiseHeldOnlyWhenFollowingJobsThatRan) {
  EXPECT_EQ(file_end(true, 0, true, 5), FileEnd::stays_in_active);
  EXPECT_EQ(file_end(false, 1, false, 0), FileEnd::stays_in_active);
  EXPECT_EQ(file_end(false, 0, true, 5), FileEnd::hold_for_jobs);
  EXPECT_EQ(file_end(false, 0, true, 0), FileEnd::place);  // nothing ran: nothing to wait for
  EXPECT_EQ(file_end(false, 0, false, 5), FileEnd::place);
}

TEST(HeldFile, PlacedOnceEveryJobHasAnEndOrAtOnceWithFollowingOff) {
  std::vector<journal::FollowedRow> rows{row(1, R"({"state":"JOB_STATE_COMPLETE"})"), row(2, "")};
  EXPECT_FALSE(ends_if_all_ended(rows, true));
  auto ends = ends_if_all_ended(rows, false);  // a restart after following was turned off
  ASSERT_TRUE(ends);
  EXPECT_EQ(ends->size(), 1u);
  EXPECT_EQ(ends->at(1), R"({"state":"JOB_STATE_COMPLETE"})");
  rows[1].final_json = R"({"state":"JOB_STATE_FAILED"})";
  ends = ends_if_all_ended(rows, true);
  ASSERT_TRUE(ends);
  EXPECT_EQ(ends->size(), 2u);
  EXPECT_EQ(ends->at(2), R"({"state":"JOB_STATE_FAILED"})");
}

TEST(HeldFile, AJobWhoseResultsStillDownloadKeepsItsFileWaiting) {
  std::vector<journal::FollowedRow> rows{row(1, R"({"state":"JOB_STATE_COMPLETE"})")};
  rows[0].downloads_pending = true;
  EXPECT_FALSE(ends_if_all_ended(rows, true));
  auto ends = ends_if_all_ended(rows, false);  // following turned off: placed with the end as it is
  ASSERT_TRUE(ends);
  EXPECT_EQ(ends->at(1), R"({"state":"JOB_STATE_COMPLETE"})");
  rows[0].downloads_pending = false;
  EXPECT_TRUE(ends_if_all_ended(rows, true));
}

TEST(AbortCall, SentRefusedOrGivenUpAfterItsAttemptsWithTheRetryPolicysWaits) {
  RetryTiming timing;
  timing.base = 100ms;
  timing.cap = 1000ms;
  const WallTime now = WallTime(std::chrono::seconds(1'000'000));
  AbortCall sent("j1", JobPaths{"/v1/customer"}, timing);
  EXPECT_EQ(sent.call().target, "/v1/customer/jobs/j1/abort");
  EXPECT_EQ(sent.call().method, api::Method::post);
  EXPECT_TRUE(sent.call().replay_safe);
  EXPECT_FALSE(sent.on_reply(reply_with(200), now, 0.5).again);
  EXPECT_EQ(sent.result(), AbortCall::Result::sent);

  AbortCall refused("j2", JobPaths{"/v1/customer"}, timing);
  EXPECT_FALSE(refused.on_reply(reply_with(400), now, 0.5).again);
  EXPECT_EQ(refused.result(), AbortCall::Result::refused);

  AbortCall troubled("j3", JobPaths{"/v1/customer"}, timing);
  auto first = troubled.on_reply(reply_with(503), now, 1.0);
  EXPECT_TRUE(first.again);
  EXPECT_EQ(first.delay, backoff_delay(timing, 1, 1.0));
  auto second = troubled.on_reply(reply_with(503, "7"), now, 1.0);  // Retry-After wins when longer
  EXPECT_EQ(second.delay, 7000ms);
  for (int i = 3; i < AbortCall::kMaxAttempts; ++i) EXPECT_TRUE(troubled.on_reply(reply_with(503), now, 0.5).again);
  EXPECT_FALSE(troubled.on_reply(reply_with(503), now, 0.5).again);
  EXPECT_EQ(troubled.result(), AbortCall::Result::gave_up);
  EXPECT_EQ(troubled.attempts(), AbortCall::kMaxAttempts);
}

TEST(PlanAbort, UnknownUnfinishedEndedAndRunning) {
  using Action = AbortPlan::Action;
  using Kind = AbortResult::Kind;
  EXPECT_EQ(plan_abort(std::nullopt, true).answer.kind, Kind::unknown);
  EXPECT_EQ(plan_abort(std::nullopt, true).action, Action::none);

  journal::JournalStore::Lookup queued{"job-1", false, 0, ""};
  auto plan = plan_abort(queued, true);
  EXPECT_EQ(plan.action, Action::stop_before_run);
  EXPECT_EQ(plan.answer.kind, Kind::requested);
  EXPECT_EQ(plan.answer.job_id, "job-1");

  journal::JournalStore::Lookup failed{"job-2", true, 1, R"({"line":1,"status":"failed"})"};
  plan = plan_abort(failed, true);
  EXPECT_EQ(plan.action, Action::none);
  EXPECT_EQ(plan.answer.kind, Kind::already_ended);
  EXPECT_NE(plan.answer.message.find("failed"), std::string::npos);

  journal::JournalStore::Lookup ended{"job-3", true, 0,
                                      R"({"line":1,"status":"submitted","final":{"state":"JOB_STATE_COMPLETE"}})"};
  plan = plan_abort(ended, true);
  EXPECT_EQ(plan.action, Action::none);
  EXPECT_NE(plan.answer.message.find("JOB_STATE_COMPLETE"), std::string::npos);

  journal::JournalStore::Lookup running{"job-4", true, 0, R"({"line":1,"status":"submitted"})"};
  plan = plan_abort(running, true);
  EXPECT_EQ(plan.action, Action::send_abort);
  EXPECT_EQ(plan.answer.kind, Kind::requested);
  plan = plan_abort(running, false);
  EXPECT_EQ(plan.action, Action::send_abort);
  EXPECT_EQ(plan.answer.kind, Kind::not_followed);
}

// One request per file must not cap the requests in flight at max_active_files: a file read
// to its end no longer takes one of those places; the ceiling bounds all files.
TEST(FilesRoom, FilesReadToTheirEndLeaveTheirPlaceUpToTheCeiling) {
  using submitd::submit::files_room;
  EXPECT_EQ(files_room({.reading_files = 0, .active_files = 0, .max_active_files = 64, .files_ceiling = 320}), 64u);
  EXPECT_EQ(files_room({.reading_files = 60, .active_files = 60, .max_active_files = 64, .files_ceiling = 320}), 4u);
  // 200 one-request files read and in flight: 64 more may come.
  EXPECT_EQ(files_room({.reading_files = 0, .active_files = 200, .max_active_files = 64, .files_ceiling = 320}), 64u);
  EXPECT_EQ(files_room({.reading_files = 0, .active_files = 300, .max_active_files = 64, .files_ceiling = 320}), 20u);
  EXPECT_EQ(files_room({.reading_files = 0, .active_files = 320, .max_active_files = 64, .files_ceiling = 320}), 0u);
  // Large files still being read keep the cap: a new drop waits for one of them, not for all.
  EXPECT_EQ(files_room({.reading_files = 64, .active_files = 64, .max_active_files = 64, .files_ceiling = 320}), 0u);
  // A ceiling below the cap is the cap.
  EXPECT_EQ(files_room({.reading_files = 10, .active_files = 10, .max_active_files = 64, .files_ceiling = 0}), 54u);
}

// Claim rounds cost two fsyncs each: while enough files are worked, room comes in batches.
TEST(FilesRoom, WhileFilesAreWorkedRoomComesInBatches) {
  using submitd::submit::files_room;
  // 316 of 320 files worked, 4 places free: wait for a batch of 16.
  EXPECT_EQ(files_room({.reading_files = 0, .active_files = 316, .max_active_files = 64, .files_ceiling = 320,
                        .claim_batch = 16}), 0u);
  EXPECT_EQ(files_room({.reading_files = 0, .active_files = 304, .max_active_files = 64, .files_ceiling = 320,
                        .claim_batch = 16}), 16u);
  // Few files worked: whatever room there is, at once (nothing would fill the batch).
  EXPECT_EQ(files_room({.reading_files = 3, .active_files = 3, .max_active_files = 4, .files_ceiling = 4,
                        .claim_batch = 16}), 1u);
  // Large files being read: a free place is given at once (a new drop must not wait for 16).
  EXPECT_EQ(files_room({.reading_files = 62, .active_files = 62, .max_active_files = 64, .files_ceiling = 320,
                        .claim_batch = 16}), 2u);
}
