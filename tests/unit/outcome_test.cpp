// Role: outcome records are valid, versioned JSON with the contract's field names.
#include "spool/outcome.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

using namespace submitd::spool;

TEST(Outcome, SubmittedRecordHasContractFields) {
  OutcomeRecord r;
  r.line = 3;
  r.request_id = "req-1";
  r.job_id = "886313e1-3b8a-5372-9b90-0c9aee199e5d";
  r.status = SubmitStatus::submitted;
  r.attempts = 4;
  std::string line = outcome_json_line(r);
  ASSERT_EQ(line.back(), '\n');
  simdjson::dom::parser p;
  auto doc = p.parse(line);
  ASSERT_FALSE(doc.error());
  EXPECT_EQ(int64_t(doc["v"]), 1);
  EXPECT_EQ(int64_t(doc["line"]), 3);
  EXPECT_EQ(std::string_view(doc["requestId"]), "req-1");
  EXPECT_EQ(std::string_view(doc["status"]), "submitted");
  EXPECT_EQ(int64_t(doc["attempts"]), 4);
  EXPECT_EQ(std::string_view(doc["acceptedAt"]).size(), 24u);  // 2026-01-01T00:00:00.000Z
  EXPECT_TRUE(doc["error"].error());
}

TEST(Outcome, FailureCarriesStageStatusAndMessage) {
  OutcomeRecord r;
  r.status = SubmitStatus::failed;
  r.error = OutcomeError{"create", 403, "HTTP 403: \"denied\"\n"};
  simdjson::dom::parser p;
  auto doc = p.parse(outcome_json_line(r));
  ASSERT_FALSE(doc.error());
  EXPECT_EQ(std::string_view(doc["error"]["stage"]), "create");
  EXPECT_EQ(int64_t(doc["error"]["httpStatus"]), 403);
  EXPECT_EQ(std::string_view(doc["error"]["message"]), "HTTP 403: \"denied\"\n");
  EXPECT_TRUE(doc["jobId"].is_null());
}
