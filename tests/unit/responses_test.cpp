// Unit tests of the readers job following uses: a job's end (GET /jobs/{id}), a list page,
// and the results; malformed bodies give "nothing usable", never a throw.
#include "api/responses.hpp"

#include <gtest/gtest.h>

namespace submitd::api {
namespace {

TEST(JobResponses, AJobThatEndedAndOneThatRuns) {
  auto ended = parse_job_response(
      R"({"job":{"id":"j1","state":"JOB_STATE_FAILED","errorMessage":"out of memory","startedAt":"2026-01-01T00:00:00Z","endedAt":"2026-01-01T00:01:00Z","duration":"60"}})");
  ASSERT_TRUE(ended);
  EXPECT_TRUE(ended->ended());
  EXPECT_EQ(ended->state, "JOB_STATE_FAILED");
  EXPECT_EQ(ended->error_message, "out of memory");
  EXPECT_EQ(ended->duration_s, 60);
  auto running = parse_job_response(R"({"job":{"id":"j2","state":"JOB_STATE_RUNNING","endedAt":null,"errorMessage":null,"duration":null}})");
  ASSERT_TRUE(running);
  EXPECT_FALSE(running->ended());
  EXPECT_TRUE(running->error_message.empty());
  EXPECT_FALSE(running->duration_s);
  EXPECT_EQ(parse_job_response(R"({"job":{"id":"j3","duration":42}})")->duration_s, 42);
}

TEST(JobResponses, MalformedBodiesGiveNothing) {
  EXPECT_FALSE(parse_job_response(""));
  EXPECT_FALSE(parse_job_response("not json"));
  EXPECT_FALSE(parse_job_response(R"({"job":{"state":"JOB_STATE_COMPLETE"}})"));  // no id
  EXPECT_FALSE(parse_job_response(R"({"job":[1]})"));
  EXPECT_FALSE(parse_job_list(R"({"data":"nope"})"));
  EXPECT_FALSE(parse_job_results(R"({"results":3})"));
  EXPECT_FALSE(parse_job_results("["));
}

TEST(JobResponses, LongFieldsAreCutOnACharacterBoundary) {
  std::string message(kMaxFieldBytes - 1, 'a');
  message += "\xC3\xA9\xC3\xA9";  // two-byte characters straddling the limit
  auto job = parse_job_response(R"({"job":{"id":"j","errorMessage":")" + message + R"("}})");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->error_message.size(), kMaxFieldBytes - 1);
}

TEST(JobResponses, ListPageWithPagination) {
  auto page = parse_job_list(
      R"({"pagination":{"total":"250","offset":"100","hasPrevious":true,"hasNext":true},"data":[{"id":"a","endedAt":"2026-01-01T00:00:00Z"},{"state":"no id"},{"id":"b"}]})");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 250u);
  EXPECT_TRUE(page->has_next);
  ASSERT_EQ(page->jobs.size(), 2u);
  EXPECT_TRUE(page->jobs[0].ended());
  EXPECT_FALSE(page->jobs[1].ended());
  auto empty = parse_job_list(R"({"pagination":{"total":"0"}})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->jobs.empty());
}

TEST(JobResponses, ResultsAreBounded) {
  auto results = parse_job_results(R"({"results":[{"name":"out_0/a.mp4","link":"https://x/a"},{"other":1},7]})");
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ((*results)[0].name, "out_0/a.mp4");
  std::string many = R"({"results":[)";
  for (std::size_t i = 0; i < kMaxResults + 5; ++i) many += std::string(i ? "," : "") + R"({"name":"n"})";
  many += "]}";
  EXPECT_EQ(parse_job_results(many)->size(), kMaxResults);
  EXPECT_TRUE(parse_job_results("{}")->empty());
}

}  // namespace
}  // namespace submitd::api
