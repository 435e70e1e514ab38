// Role: outcome records are valid, versioned JSON with the contract's field names; a job's
// "final" is written byte for byte as before and spliced in once; a line reads back the same.
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

// --- "final": written byte for byte as job following always has (readers and dashboards
// compare these texts, so a reordered member is a change) ---

TEST(OutcomeFinal, EndedJobText) {
  JobEnd end;
  end.state = "JOB_STATE_FAILED";
  end.error_message = "bad \"input\"";
  end.ended_at = "2026-01-01T00:01:00Z";
  end.duration_s = 60;
  end.results = {{"out_0/a", "https://x/a?sig=1"}, {"b", "l"}};
  EXPECT_EQ(final_json(end),
            R"({"state":"JOB_STATE_FAILED","errorMessage":"bad \"input\"",)"
            R"("endedAt":"2026-01-01T00:01:00Z","durationSeconds":60,)"
            R"("results":[{"name":"out_0/a","link":"https://x/a?sig=1"},{"name":"b","link":"l"}]})");
}

TEST(OutcomeFinal, DownloadedResultsCarryTheirPathAndBytesOrTheirError) {
  JobEnd end;
  end.state = "JOB_STATE_COMPLETE";
  end.duration_s = 5;
  end.results = {{"a", "https://s/a", "/srv/out/r1/a", 42, ""}, {"../b", "https://s/b", "", std::nullopt, "no \"..\""}};
  const std::string text = final_json(end);
  EXPECT_EQ(text, R"({"state":"JOB_STATE_COMPLETE","errorMessage":null,"endedAt":null,"durationSeconds":5,)"
                  R"("results":[{"name":"a","link":"https://s/a","localPath":"/srv/out/r1/a","bytes":42},)"
                  R"({"name":"../b","link":"https://s/b","downloadError":"no \"..\""}]})");
  // Read back (the journal keeps it while downloads run), it writes the same text again.
  auto back = parse_final(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(final_json(*back), text);
  EXPECT_EQ(back->results[0].bytes, 42u);
  EXPECT_EQ(back->results[1].download_error, "no \"..\"");
  EXPECT_FALSE(parse_final("{\"state\":\"X\"}"));  // no results array: not one final_json wrote
  EXPECT_FALSE(parse_final("not json"));
  EXPECT_FALSE(parse_final("[1]"));
}

TEST(OutcomeFinal, UnknownFieldsAreNullNotEmpty) {
  EXPECT_EQ(final_json(JobEnd{}),
            R"({"state":null,"errorMessage":null,"endedAt":null,"durationSeconds":null,)"
            R"("results":[]})");
}

TEST(OutcomeFinal, GaveUpText) {
  const std::string why =
      R"("errorMessage":"not ended within its jobTimeout plus follow.give_up_margin_s; )"
      R"(no longer followed","endedAt":null,"durationSeconds":null,"results":[],"gaveUp":true})";
  EXPECT_EQ(gave_up_json("JOB_STATE_RUNNING"), R"({"state":"JOB_STATE_RUNNING",)" + why);
  EXPECT_EQ(gave_up_json(""), R"({"state":null,)" + why);
}

TEST(OutcomeFinal, WithFinalSplicesBeforeTheClosingBrace) {
  EXPECT_EQ(with_final("{\"v\":1,\"status\":\"submitted\"}\n", "{\"state\":\"X\"}"),
            "{\"v\":1,\"status\":\"submitted\",\"final\":{\"state\":\"X\"}}\n");
  // A CRLF line keeps a newline (LF) and loses its CR, as before.
  EXPECT_EQ(with_final("{\"v\":1}\r\n", "{}"), "{\"v\":1,\"final\":{}}\n");
  EXPECT_EQ(with_final("{\"v\":1}", "{}"), "{\"v\":1,\"final\":{}}");  // no newline: none added
}

TEST(OutcomeFinal, WithFinalLeavesOtherLinesAlone) {
  const std::string once = with_final("{\"v\":1}\n", "{\"state\":\"A\"}");
  EXPECT_EQ(with_final(once, "{\"state\":\"B\"}"), once);  // a job ends once
  EXPECT_EQ(with_final("garbage", "{}"), "garbage");
  EXPECT_EQ(with_final("[1,2]\n", "{}"), "[1,2]\n");
  EXPECT_EQ(with_final("{", "{}"), "{");
  EXPECT_EQ(with_final("", "{}"), "");
}

// --- reading a line back ---

TEST(OutcomeParse, WrittenLineReadsBack) {
  OutcomeRecord r;
  r.line = 7;
  r.request_id = "req-7";
  r.job_id = "886313e1-3b8a-5372-9b90-0c9aee199e5d";
  r.status = SubmitStatus::submitted;
  r.attempts = 2;
  ParsedOutcome p = parse_outcome_line(outcome_json_line(r));
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.line, 7u);
  EXPECT_EQ(p.status, "submitted");
  EXPECT_EQ(p.request_id, "req-7");
  EXPECT_EQ(p.job_id, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  EXPECT_EQ(p.attempts, 2);
  EXPECT_FALSE(p.error_json);
  EXPECT_FALSE(p.has_final);
  EXPECT_EQ(p.final_state, "");
  EXPECT_FALSE(p.final_json);
}

TEST(OutcomeParse, FailureKeepsItsErrorAndNullJobId) {
  OutcomeRecord r;
  r.status = SubmitStatus::failed;
  r.error = OutcomeError{"create", 403, "denied"};
  ParsedOutcome p = parse_outcome_line(outcome_json_line(r));
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.status, "failed");
  EXPECT_EQ(p.job_id, "");
  EXPECT_EQ(p.error_json, R"({"stage":"create","httpStatus":403,"message":"denied"})");
}

TEST(OutcomeParse, FinalIsReadBackMinified) {
  JobEnd end;
  end.state = "JOB_STATE_COMPLETE";
  end.results = {{"a", "https://x/a"}};
  const std::string line = with_final("{\"line\":3, \"status\":\"submitted\"}\n", final_json(end));
  ParsedOutcome p = parse_outcome_line(line);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.line, 3u);
  EXPECT_TRUE(p.has_final);
  EXPECT_EQ(p.final_state, "JOB_STATE_COMPLETE");
  EXPECT_EQ(p.final_json, final_json(end));

  p = parse_outcome_line(R"({"final":{ "state" : "S", "x" : [ 1, 2 ] }})");
  EXPECT_EQ(p.final_json, R"({"state":"S","x":[1,2]})");
}

TEST(OutcomeParse, FinalNotAnObjectIsNoFinal) {
  for (const char* line : {R"({"status":"submitted","final":null})",
                           R"({"status":"submitted","final":"done"})",
                           R"({"status":"submitted","final":[{"state":"S"}]})"}) {
    ParsedOutcome p = parse_outcome_line(line);
    ASSERT_TRUE(p.ok) << line;
    EXPECT_FALSE(p.has_final) << line;
    EXPECT_EQ(p.final_state, "") << line;
    EXPECT_FALSE(p.final_json) << line;
  }
}

TEST(OutcomeParse, FinalWithoutStringStateIsAnEndButNotPassedOn) {
  // An abort must still see that the job ended; GET /v1/jobs/{id} must not show a final of a
  // shape following never writes.
  for (const char* line : {R"({"final":{"results":[]}})", R"({"final":{"state":7}})"}) {
    ParsedOutcome p = parse_outcome_line(line);
    ASSERT_TRUE(p.ok) << line;
    EXPECT_TRUE(p.has_final) << line;
    EXPECT_EQ(p.final_state, "") << line;
    EXPECT_FALSE(p.final_json) << line;
  }
}

TEST(OutcomeParse, OversizeFinalIsNotPassedOn) {
  // Padding the message so the minified final is exactly at, then one byte past, the limit.
  auto line_with_final_of_size = [](std::size_t size) {
    const std::string head = R"({"state":"S","m":")";
    const std::string tail = R"("})";
    const std::string padding(size - head.size() - tail.size(), 'x');
    return R"({"status":"submitted","final":)" + head + padding + tail + "}";
  };
  ParsedOutcome at = parse_outcome_line(line_with_final_of_size(kMaxFinalJsonBytes));
  ASSERT_TRUE(at.final_json);
  EXPECT_EQ(at.final_json->size(), kMaxFinalJsonBytes);

  ParsedOutcome over = parse_outcome_line(line_with_final_of_size(kMaxFinalJsonBytes + 1));
  ASSERT_TRUE(over.ok);
  EXPECT_TRUE(over.has_final);  // the end is still known
  EXPECT_EQ(over.final_state, "S");
  EXPECT_FALSE(over.final_json);
}

TEST(OutcomeParse, BrokenJsonIsNotOk) {
  for (const char* line : {"", "garbage", "{\"line\":3,", "{\"status\":\"submitted\"} trailing"}) {
    ParsedOutcome p = parse_outcome_line(line);
    EXPECT_FALSE(p.ok) << line;
    EXPECT_EQ(p.status, "") << line;
    EXPECT_EQ(p.line, 0u) << line;
  }
}

TEST(OutcomeParse, MissingOrMistypedMembersReadAsEmpty) {
  ParsedOutcome p = parse_outcome_line("{}\n");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.line, 0u);
  EXPECT_EQ(p.status, "");
  EXPECT_EQ(p.attempts, 0);

  p = parse_outcome_line(
      R"({"line":-3,"status":5,"jobId":null,"requestId":["r"],"attempts":"2","error":null})");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.line, 0u);
  EXPECT_EQ(p.status, "");
  EXPECT_EQ(p.job_id, "");
  EXPECT_EQ(p.request_id, "");
  EXPECT_EQ(p.attempts, 0);
  EXPECT_EQ(p.error_json, "null");  // present, whatever its type: passed on as written

  // JSON but not an object: nothing to read, and not an error for the readers.
  p = parse_outcome_line("[1]");
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.status, "");
}
