// Role: unit tests of result downloads' decisions (submit/download_plan.hpp): which results
// are fetched and where, what an attempt's answer means, the backoff and the shared bandwidth
// (injected time).
#include "submit/download_plan.hpp"

#include <gtest/gtest.h>

namespace submitd::submit {
namespace {

using namespace std::chrono_literals;
using Kind = AttemptVerdict::Kind;

spool::JobEnd complete_with(std::vector<spool::ResultLink> results) {
  spool::JobEnd end;
  end.state = "JOB_STATE_COMPLETE";
  end.results = std::move(results);
  return end;
}

TEST(DownloadPlan, OnlyCompletedJobsWithResultsHaveDownloads) {
  EXPECT_TRUE(has_downloads(complete_with({{"a", "https://s/a"}})));
  EXPECT_FALSE(has_downloads(complete_with({})));
  auto failed = complete_with({{"a", "https://s/a"}});
  failed.state = "JOB_STATE_FAILED";
  EXPECT_FALSE(has_downloads(failed));
}

TEST(DownloadPlan, UsableNamesAreFetchedTheOthersGetTheirReasonAtOnce) {
  auto end = complete_with({{"out/a.bin", "https://s/1"},
                            {"../../etc/passwd", "https://s/2"},
                            {"/abs", "https://s/3"},
                            {"out//a.bin", "https://s/4"},  // the same file as the first
                            {"b\x01", "https://s/5"},
                            {"c", ""}});
  const auto planned = plan_downloads("req-1", "job-9", end);
  ASSERT_EQ(planned.size(), 1u);
  EXPECT_EQ(planned[0].index, 0u);
  EXPECT_EQ(planned[0].relative, std::filesystem::path("req-1/out/a.bin"));
  EXPECT_EQ(planned[0].temp_name, ".submitd-job-9-0.part");
  EXPECT_EQ(end.results[0].download_error, "");
  EXPECT_EQ(end.results[1].download_error, "not downloaded: the result's name leads out of its directory (\"..\")");
  EXPECT_EQ(end.results[2].download_error, "not downloaded: the result's name is an absolute path");
  EXPECT_EQ(end.results[3].download_error, "not downloaded: an earlier result of this job has the same name");
  EXPECT_EQ(end.results[4].download_error, "not downloaded: the result's name holds a control character");
  EXPECT_EQ(end.results[5].download_error, "not downloaded: the API gave no link for it");
}

api::HttpResult answer(int status) {
  api::HttpResult r;
  r.status = status;
  return r;
}

TEST(DownloadAttempt, AWholeBodyIsDoneAShortOneOrTroubleIsTriedAgain) {
  const auto ok = answer(200);
  EXPECT_EQ(judge_attempt({&ok, "", false, 10, 10}).kind, Kind::done);
  EXPECT_EQ(judge_attempt({&ok, "", false, std::nullopt, 7}).kind, Kind::done);  // chunked: no length to check
  const auto short_body = judge_attempt({&ok, "", false, 10, 4});
  EXPECT_EQ(short_body.kind, Kind::retry);
  EXPECT_EQ(short_body.reason, "the body ended after 4 of its 10 bytes");
  api::HttpResult reset;
  reset.failure = api::TransportFailure::reset;
  reset.failure_detail = "connection lost";
  EXPECT_EQ(judge_attempt({&reset, "", false, std::nullopt, 0}).reason, "connection lost");
  EXPECT_EQ(judge_attempt({&reset, "", false, std::nullopt, 0}).kind, Kind::retry);
  EXPECT_EQ(judge_attempt({&ok, "writing the result failed: the disk is full", false, 10, 3}).kind, Kind::retry);
  const auto large = judge_attempt({&ok, "larger than results.max_bytes", true, 10, 3});
  EXPECT_EQ(large.kind, Kind::fail);
  EXPECT_EQ(large.reason, "larger than results.max_bytes");
}

TEST(DownloadAttempt, ServerTroubleIsTriedAgainARefusedLinkIsNot) {
  for (int status : {408, 429, 500, 503}) {
    const auto r = answer(status);
    EXPECT_EQ(judge_attempt({&r, "", false, std::nullopt, 0}).kind, Kind::retry) << status;
  }
  for (int status : {403, 404, 410}) {
    const auto r = answer(status);
    const auto verdict = judge_attempt({&r, "", false, std::nullopt, 0});
    EXPECT_EQ(verdict.kind, Kind::fail) << status;
    EXPECT_EQ(verdict.reason, "the storage answered HTTP " + std::to_string(status));
  }
}

TEST(DownloadAttempt, TroubleIsWaitedOutForAnHourARefusalIsNot) {
  const AttemptVerdict retry{Kind::retry, "reset"};
  const AttemptVerdict refused{Kind::fail, "the storage answered HTTP 403"};
  EXPECT_FALSE(gives_up(retry, 3599s, 3600s));
  EXPECT_TRUE(gives_up(retry, 3600s, 3600s));
  EXPECT_TRUE(gives_up(refused, 0s, 3600s));
}

TEST(DownloadAttempt, BackoffGrowsToItsCap) {
  EXPECT_EQ(download_backoff(2, 0.999), 499ms);
  EXPECT_EQ(download_backoff(3, 0.5), 500ms);
  EXPECT_EQ(download_backoff(30, 0.5), 30000ms);
  EXPECT_EQ(download_backoff(2, 0.0), 0ms);
}

TEST(DownloadBandwidth, ReadsWaitTheirTurnAtTheSharedRate) {
  const MonoTime t0{std::chrono::seconds(100)};
  Bandwidth unlimited(0);
  EXPECT_EQ(unlimited.before_read(1 << 20, t0), 0ns);
  Bandwidth limited(64 * 1024);  // 64 KiB/s: a burst of 16 KiB (a quarter second, at least one read)
  EXPECT_EQ(limited.before_read(16 * 1024, t0), 0ns);
  EXPECT_EQ(limited.before_read(16 * 1024, t0), 250ms);  // a second reader queues behind it
  EXPECT_EQ(limited.before_read(16 * 1024, t0), 500ms);
  // A second on, 64 KiB came back: the debt of 32 KiB is paid and the bucket refills to its burst.
  EXPECT_EQ(limited.before_read(16 * 1024, t0 + 1s), 0ns);
}

}  // namespace
}  // namespace submitd::submit
