// Unit tests of job following's plain decisions: the bounded book, per-file counts, give-up
// times, list-or-single-reads, jobTimeout reading, and a job's end in the spool's terms.
#include "submit/follow_book.hpp"

#include <gtest/gtest.h>

namespace submitd::submit {
namespace {

using namespace std::chrono_literals;

FollowedJob job(std::string id, std::string claim, WallTime give_up = WallTime{} + 100s) {
  return FollowedJob{std::move(id), std::move(claim), 1, give_up, {}};
}

TEST(FollowBook, BoundedAndCountsPerFile) {
  FollowBook book(3);
  EXPECT_TRUE(book.add(job("a", "c1")));
  EXPECT_TRUE(book.add(job("b", "c1")));
  EXPECT_TRUE(book.add(job("a", "c1")));  // already followed: not twice
  EXPECT_TRUE(book.add(job("c", "c2")));
  EXPECT_FALSE(book.overflowed());
  EXPECT_FALSE(book.add(job("d", "c2")));  // full: waits in the journal
  EXPECT_TRUE(book.overflowed());
  EXPECT_EQ(book.size(), 3u);
  EXPECT_EQ(book.room(), 0u);
  EXPECT_EQ(book.followed_in_claim("c1"), 2u);
  ASSERT_TRUE(book.remove("a"));
  EXPECT_FALSE(book.remove("a"));
  EXPECT_EQ(book.followed_in_claim("c1"), 1u);
  book.remove("b");
  EXPECT_EQ(book.followed_in_claim("c1"), 0u);
  EXPECT_EQ(book.room(), 2u);
}

TEST(FollowBook, GiveUpTimes) {
  FollowBook book(10);
  book.add(job("early", "c", WallTime{} + 10s));
  book.add(job("late", "c", WallTime{} + 20s));
  EXPECT_TRUE(book.past_give_up(WallTime{} + 9s).empty());
  EXPECT_EQ(book.past_give_up(WallTime{} + 10s), std::vector<std::string>{"early"});
  EXPECT_EQ(book.past_give_up(WallTime{} + 25s).size(), 2u);
}

TEST(FollowBook, ListOrSingleReads) {
  // 2,000 followed in an account of 2,500 jobs: 24 more pages beat 2,000 reads.
  EXPECT_TRUE(list_is_cheaper(2000, 2500, 100));
  // 10 followed in an account of a million jobs: 10 reads beat 9,999 pages.
  EXPECT_FALSE(list_is_cheaper(10, 1'000'000, 100));
  // Everything on the first page: nothing more to read either way.
  EXPECT_TRUE(list_is_cheaper(5, 80, 100));
  EXPECT_FALSE(list_is_cheaper(0, 80, 100));
  EXPECT_FALSE(list_is_cheaper(5, 80, 0));
}

TEST(FollowBook, JobTimeoutFromTheRequestConfig) {
  EXPECT_EQ(job_timeout_seconds(R"({"taskTimeout":3600,"jobTimeout":86400})"), 86400);
  EXPECT_EQ(job_timeout_seconds(R"({"jobTimeout":"120"})"), 120);
  EXPECT_FALSE(job_timeout_seconds(""));
  EXPECT_FALSE(job_timeout_seconds(R"({"taskTimeout":3600})"));
  EXPECT_FALSE(job_timeout_seconds(R"({"jobTimeout":-5})"));
  EXPECT_FALSE(job_timeout_seconds(R"({"jobTimeout":"soon"})"));
  EXPECT_FALSE(job_timeout_seconds(R"({"jobTimeout":1e300})"));
  EXPECT_FALSE(job_timeout_seconds("[1]"));
}

TEST(FollowBook, JobEndCarriesWhatTheApiReported) {
  // The text of "final" is spool::final_json's (outcome_test); here, that nothing is lost or
  // mixed up on the way from the API's types to the spool's.
  api::JobSeen seen;
  seen.id = "j";
  seen.state = "JOB_STATE_FAILED";
  seen.error_message = "bad input";
  seen.started_at = "2026-01-01T00:00:00Z";
  seen.ended_at = "2026-01-01T00:01:00Z";
  seen.duration_s = 60;
  spool::JobEnd end = job_end(seen, {{"out_0/a", "https://x/a"}, {"out_1/b", "https://x/b"}});
  EXPECT_EQ(end.state, "JOB_STATE_FAILED");
  EXPECT_EQ(end.error_message, "bad input");
  EXPECT_EQ(end.ended_at, "2026-01-01T00:01:00Z");
  EXPECT_EQ(end.duration_s, 60);
  ASSERT_EQ(end.results.size(), 2u);
  EXPECT_EQ(end.results[1].name, "out_1/b");
  EXPECT_EQ(end.results[1].link, "https://x/b");
  EXPECT_FALSE(job_end(api::JobSeen{}, {}).duration_s);
}

TEST(FollowBook, EndedLabelsAreBounded) {
  EXPECT_EQ(ended_label("JOB_STATE_COMPLETE"), "complete");
  EXPECT_EQ(ended_label("JOB_STATE_FAILED"), "failed");
  EXPECT_EQ(ended_label("JOB_STATE_ABORTED"), "aborted");
  EXPECT_EQ(ended_label("JOB_STATE_SOMETHING_NEW"), "other");
  EXPECT_EQ(ended_label(""), "other");
}

}  // namespace
}  // namespace submitd::submit
