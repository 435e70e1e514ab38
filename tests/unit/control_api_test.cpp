// Role: the control socket's answers without a socket: posting (accepted lines keep their
// numbers and jobIds, refused lines are blank in what is stored, every refusal has the
// parser's reason), the error answers (empty, not JSON, too large, backlog full, storage
// failing), status and health, reading one request (with the "final" job following adds),
// and aborting one (every answer of the abort hook, ids percent-encoded or unsafe, no hook,
// a failing hook).
#include "control/control_api.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace submitd::control;

namespace {

struct Fixture {
  DaemonStatus status;
  std::vector<bool> pauses;
  std::vector<std::pair<std::string, std::string>> stored;  // content, name
  bool fail_store = false;
  ControlHooks::Stored deferred;  // set: the store completes only when the test calls this
  bool defer_store = false;
  std::map<std::string, std::string> finished;  // requestId -> outcome line
  ControlApi api{ControlHooks{
                     [this] { return status; },
                     [this](std::string content, const std::string& name, ControlHooks::Stored done) {
                       if (fail_store) {
                         return done(std::make_exception_ptr(std::runtime_error("disk full")), "");
                       }
                       stored.emplace_back(std::move(content), name);
                       if (defer_store) return void(deferred = std::move(done));
                       done(nullptr, "c0ffee0000000001");
                     },
                     [](const std::string& claim, std::uint64_t line) { return claim + "/" + std::to_string(line); },
                     [this](const std::string& id) -> std::optional<RequestLookup> {
                       if (auto it = finished.find(id); it != finished.end()) {
                         return RequestLookup{"job-f", true, it->second};
                       }
                       if (id == "working") return RequestLookup{"job-w", false, ""};
                       if (id == "done-1") {
                         return RequestLookup{"job-d", true,
                                              "{\"v\":1,\"status\":\"failed\",\"attempts\":3,"
                                              "\"error\":{\"stage\":\"create\",\"httpStatus\":403,\"message\":\"no\"}}\n"};
                       }
                       return std::nullopt;
                     },
                     [this](bool paused) {
                       if (fail_store) throw std::runtime_error("read-only file system");
                       pauses.push_back(paused);
                     }},
                 ControlLimits{200, 100}};

  // The answer the socket would send: a pending post is stored first (this fixture's store
  // completes at once; the daemon's completes later, on the I/O thread).
  ControlAnswer handle(std::string_view method, std::string_view target, std::string_view body) {
    ControlAnswer a = api.handle(method, target, body);
    if (!a.pending) return a;
    std::optional<ControlAnswer> answer;
    api.store(std::move(a.pending), [&answer](ControlAnswer given) { answer = std::move(given); });
    EXPECT_TRUE(answer.has_value());
    return answer.value_or(ControlAnswer{});
  }
};

TEST(ControlApi, PostKeepsLineNumbersAndStoresOnlyTheAcceptable) {
  Fixture f;
  auto a = f.handle("POST", "/v1/jobs",
                        "{\"templateId\":\"a\",\"requestId\":\"r1\"}\n{\"templateId\":5}\n\n{\"templateId\":\"b\"}\n");
  EXPECT_EQ(a.status, 202);
  EXPECT_EQ(a.body,
            "{\"accepted\":[{\"line\":1,\"requestId\":\"r1\",\"jobId\":\"c0ffee0000000001/1\"},"
            "{\"line\":4,\"requestId\":\"c0ffee0000000001:4\",\"jobId\":\"c0ffee0000000001/4\"}],"
            "\"rejected\":[{\"line\":2,\"error\":\"line 2: field \\\"templateId\\\": expected a non-empty string, found number\"}]}");
  ASSERT_EQ(f.stored.size(), 1u);
  EXPECT_EQ(f.stored[0].first, "{\"templateId\":\"a\",\"requestId\":\"r1\"}\n\n\n{\"templateId\":\"b\"}\n\n");
  EXPECT_TRUE(f.stored[0].second.ends_with(".jsonl"));
}

TEST(ControlApi, APostIsAnsweredOnlyOnceItsRequestsAreStored) {
  Fixture f;
  f.defer_store = true;
  ControlAnswer a = f.api.handle("POST", "/v1/jobs", "{\"templateId\":\"a\"}\n");
  ASSERT_TRUE(a.pending);
  EXPECT_TRUE(f.stored.empty());  // handle() only reads the post
  std::optional<ControlAnswer> answer;
  f.api.store(std::move(a.pending), [&answer](ControlAnswer given) { answer = std::move(given); });
  ASSERT_EQ(f.stored.size(), 1u);
  EXPECT_FALSE(answer.has_value());  // not durable yet: no answer
  f.deferred(nullptr, "c0ffee0000000002");
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 202);
  EXPECT_NE(answer->body.find("c0ffee0000000002:1"), std::string::npos) << answer->body;
}

TEST(ControlApi, OneObjectOverSeveralLinesIsOneRequest) {
  Fixture f;
  auto a = f.handle("POST", "/v1/jobs", "{\n  \"templateId\": \"pretty\"\n}\n");
  EXPECT_EQ(a.status, 202) << a.body;
  ASSERT_EQ(f.stored.size(), 1u);
  EXPECT_EQ(f.stored[0].first.find('\n'), f.stored[0].first.size() - 1);  // stored on one line
}

TEST(ControlApi, NothingAcceptableIsA400WithTheReasons) {
  Fixture f;
  auto a = f.handle("POST", "/v1/jobs", "{\"name\":\"no template\"}\n");
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.body.find("\"rejected\":[{\"line\":1"), std::string::npos) << a.body;
  EXPECT_TRUE(f.stored.empty());
  EXPECT_EQ(f.handle("POST", "/v1/jobs", "").status, 400);
  auto not_json = f.handle("POST", "/v1/jobs", "hello world");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_NE(not_json.body.find("not JSON"), std::string::npos);
}

TEST(ControlApi, LimitsAndTroubleAnswerWithoutStoring) {
  Fixture f;
  EXPECT_EQ(f.handle("POST", "/v1/jobs", "{\n\"templateId\":\"" + std::string(300, 'x') + "\"}").status, 413);
  auto long_line = f.handle("POST", "/v1/jobs", "{\"templateId\":\"" + std::string(300, 'x') + "\"}\n{\"templateId\":\"ok\"}\n");
  EXPECT_EQ(long_line.status, 202);
  EXPECT_NE(long_line.body.find("longer than 200 bytes"), std::string::npos);
  f.stored.clear();
  f.status.backlog_files = 100;
  auto full = f.handle("POST", "/v1/jobs", "{\"templateId\":\"a\"}");
  EXPECT_EQ(full.status, 503);
  EXPECT_EQ(full.retry_after_s, 5);
  f.status.backlog_files = 0;
  f.fail_store = true;
  auto failing = f.handle("POST", "/v1/jobs", "{\"templateId\":\"a\"}");
  EXPECT_EQ(failing.status, 503);
  EXPECT_NE(failing.body.find("disk full"), std::string::npos);
  EXPECT_TRUE(f.stored.empty());
}

TEST(ControlApi, StatusHealthAndRouting) {
  Fixture f;
  f.status.version = "9.9.9";
  f.status.backlog_files = 3;
  auto s = f.handle("GET", "/v1/status", "");
  EXPECT_EQ(s.status, 200);
  EXPECT_NE(s.body.find("\"version\":\"9.9.9\""), std::string::npos);
  EXPECT_NE(s.body.find("\"backlogFiles\":3"), std::string::npos);
  EXPECT_EQ(s.body.find("\"following\""), std::string::npos);  // only with following on
  EXPECT_NE(s.body.find("\"apiRate\":{\"adaptive\":false,\"limitPerSecond\":null"), std::string::npos) << s.body;
  f.status.rate_adaptive = true;
  f.status.rate_limit = 340;
  f.status.rate_reason = "throttled (429)";
  f.status.rate_changed_s_ago = 2.5;
  f.status.rate_held_s = 1;
  EXPECT_NE(f.handle("GET", "/v1/status", "")
                .body.find("\"apiRate\":{\"adaptive\":true,\"limitPerSecond\":340.0,\"reason\":\"throttled (429)\","
                           "\"changedSecondsAgo\":2.5,\"heldSeconds\":1.0}"),
            std::string::npos);
  f.status.follow_enabled = true;
  f.status.followed_jobs = 12;
  f.status.files_waiting = 2;
  f.status.downloading_jobs = 3;
  EXPECT_NE(f.handle("GET", "/v1/status", "").body.find("\"following\":{\"jobs\":12,\"filesWaiting\":2,\"downloadingJobs\":3}"),
            std::string::npos);
  f.status.storage_full = true;
  f.status.storage_problem = "journal commit: No space left on device";
  auto full = f.handle("GET", "/healthz", "");
  EXPECT_EQ(full.status, 503);
  EXPECT_NE(full.body.find("disk full"), std::string::npos) << full.body;
  EXPECT_NE(f.handle("GET", "/v1/status", "").body.find("\"storageFull\":true,\"storageProblem\":\"journal commit"),
            std::string::npos);
  f.status.storage_full = false;
  EXPECT_EQ(f.handle("GET", "/healthz", "").status, 200);
  // incoming/ removed: drops are not seen, so intake does not work.
  f.status.spool_problem = "open /s/incoming: No such file or directory";
  auto missing = f.handle("GET", "/healthz", "");
  EXPECT_EQ(missing.status, 503);
  EXPECT_NE(missing.body.find("cannot read incoming/: open /s/incoming"), std::string::npos) << missing.body;
  EXPECT_NE(f.handle("GET", "/v1/status", "").body.find("\"spoolProblem\":\"open /s/incoming"),
            std::string::npos);
  f.status.spool_problem.clear();
  EXPECT_EQ(f.handle("GET", "/healthz", "").status, 200);
  f.status.journal_ok = false;
  f.status.journal_error = "disk I/O error";
  EXPECT_EQ(f.handle("GET", "/healthz", "").status, 503);
  EXPECT_EQ(f.handle("GET", "/v1/jobs", "").status, 405);
  EXPECT_EQ(f.handle("GET", "/nope", "").status, 404);
  EXPECT_EQ(f.handle("GET", "/v1/jobs/r1", "").status, 404);
  EXPECT_EQ(f.handle("GET", "/v1/jobs/bad%20id", "").status, 400);
  auto working = f.handle("GET", "/v1/jobs/working", "");
  EXPECT_EQ(working.status, 200);
  EXPECT_EQ(working.body, "{\"requestId\":\"working\",\"jobId\":\"job-w\",\"state\":\"submitting\","
                          "\"attempts\":0,\"error\":null,\"final\":null}");
  auto done = f.handle("GET", "/v1/jobs/done-1", "");
  EXPECT_EQ(done.body, "{\"requestId\":\"done-1\",\"jobId\":\"job-d\",\"state\":\"failed\",\"attempts\":3,"
                       "\"error\":{\"stage\":\"create\",\"httpStatus\":403,\"message\":\"no\"},\"final\":null}");
}

}  // namespace

TEST(ControlApi, PauseAndResume) {
  Fixture f;
  auto p = f.handle("POST", "/v1/pause", "");
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, "{\"paused\":true}");
  EXPECT_EQ(f.handle("POST", "/v1/resume", "").body, "{\"paused\":false}");
  EXPECT_EQ(f.pauses, (std::vector<bool>{true, false}));
  EXPECT_EQ(f.handle("GET", "/v1/pause", "").status, 405);
  f.fail_store = true;
  auto failed = f.handle("POST", "/v1/pause", "");
  EXPECT_EQ(failed.status, 503);
  EXPECT_NE(failed.body.find("read-only file system"), std::string::npos);
}

// GET /v1/jobs/{id} copies the "final" object job following adds to the outcome record, and
// answers null when it is missing or not what following writes.
TEST(ControlApi, GetJobCopiesTheFinalObject) {
  Fixture f;
  f.finished["ended"] =
      "{\"v\":1,\"status\":\"submitted\",\"attempts\":4,\"final\": {\"state\" : \"JOB_STATE_COMPLETE\","
      "\"errorMessage\":null,\"endedAt\":\"2026-11-28T21:00:00.000Z\",\"durationSeconds\":12.5,"
      "\"results\":[{\"name\":\"out \\\"1\\\".mp4\",\"link\":\"https://x/y?sig=a%2Fb\"}]}}";
  auto ended = f.handle("GET", "/v1/jobs/ended", "");
  EXPECT_EQ(ended.status, 200);
  EXPECT_EQ(ended.body,
            "{\"requestId\":\"ended\",\"jobId\":\"job-f\",\"state\":\"submitted\",\"attempts\":4,\"error\":null,"
            "\"final\":{\"state\":\"JOB_STATE_COMPLETE\",\"errorMessage\":null,\"endedAt\":\"2026-11-28T21:00:00.000Z\","
            "\"durationSeconds\":12.5,\"results\":[{\"name\":\"out \\\"1\\\".mp4\",\"link\":\"https://x/y?sig=a%2Fb\"}]}}");

  f.finished["plain"] = "{\"v\":1,\"status\":\"submitted\",\"attempts\":1}";
  EXPECT_EQ(f.handle("GET", "/v1/jobs/plain", "").body,
            "{\"requestId\":\"plain\",\"jobId\":\"job-f\",\"state\":\"submitted\",\"attempts\":1,\"error\":null,"
            "\"final\":null}");

  // Malformed finals: not an object, an object without a string state, null.
  for (const char* bad : {"\"JOB_STATE_COMPLETE\"", "[{\"state\":\"x\"}]", "{\"results\":[]}", "{\"state\":7}", "null"}) {
    f.finished["odd"] = std::string("{\"v\":1,\"status\":\"submitted\",\"attempts\":1,\"final\":") + bad + "}";
    auto odd = f.handle("GET", "/v1/jobs/odd", "");
    EXPECT_EQ(odd.status, 200) << bad;
    EXPECT_TRUE(odd.body.ends_with(",\"final\":null}")) << bad << ": " << odd.body;
  }
  // A record that is not JSON at all stays an error, as before.
  f.finished["broken"] = "{\"v\":1,\"final\":{\"state\":";
  EXPECT_EQ(f.handle("GET", "/v1/jobs/broken", "").status, 500);
}

// Ids in the target are percent-decoded, then held to the requestId alphabet, the same way
// for reading and aborting.
TEST(ControlApi, GetJobDecodesPercentEncodedIds) {
  Fixture f;
  auto done = f.handle("GET", "/v1/jobs/done%2D1", "");
  EXPECT_EQ(done.status, 200);
  EXPECT_TRUE(done.body.starts_with("{\"requestId\":\"done-1\",\"jobId\":\"job-d\"")) << done.body;
  EXPECT_EQ(f.handle("GET", "/v1/jobs/working%2fx", "").status, 400);
  EXPECT_EQ(f.handle("GET", "/v1/jobs/working%2", "").status, 400);
  EXPECT_EQ(f.handle("GET", "/v1/jobs/%", "").status, 400);
}

namespace {

// A ControlApi whose abort hook records what it was asked and answers `answer` (or throws).
struct AbortFixture {
  std::vector<std::string> asked;
  AbortAnswer answer;
  std::string throw_with;  // not empty: the hook throws this
  ControlApi api{hooks(), ControlLimits{}};

  ControlHooks hooks() {
    ControlHooks h;
    h.abort = [this](const std::string& id) {
      asked.push_back(id);
      if (!throw_with.empty()) throw std::runtime_error(throw_with);
      return answer;
    };
    return h;
  }
};

}  // namespace

TEST(ControlApiAbort, RequestedIs202WithTheJobAndMessage) {
  AbortFixture f;
  f.answer = {AbortAnswer::Kind::requested, "job-1", "the job gets the API's abort"};
  auto a = f.api.handle("POST", "/v1/jobs/r-1/abort", "");
  EXPECT_EQ(a.status, 202);
  EXPECT_EQ(a.body, "{\"requestId\":\"r-1\",\"jobId\":\"job-1\",\"abort\":\"requested\","
                    "\"message\":\"the job gets the API's abort\"}");
  EXPECT_EQ(f.asked, (std::vector<std::string>{"r-1"}));
}

TEST(ControlApiAbort, NotFollowedIs202Sent) {
  AbortFixture f;
  f.answer = {AbortAnswer::Kind::not_followed, "job-2", "sent; following is off"};
  auto a = f.api.handle("POST", "/v1/jobs/r-2/abort", "");
  EXPECT_EQ(a.status, 202);
  EXPECT_EQ(a.body, "{\"requestId\":\"r-2\",\"jobId\":\"job-2\",\"abort\":\"sent\",\"message\":\"sent; following is off\"}");
}

TEST(ControlApiAbort, UnknownIs404) {
  AbortFixture f;
  f.answer = {AbortAnswer::Kind::unknown, "", ""};
  auto a = f.api.handle("POST", "/v1/jobs/nope/abort", "");
  EXPECT_EQ(a.status, 404);
  EXPECT_TRUE(a.body.starts_with("{\"error\":\"no request with requestId nope ")) << a.body;
  EXPECT_EQ(f.asked, (std::vector<std::string>{"nope"}));
}

TEST(ControlApiAbort, AlreadyEndedIs409WithTheReasonAndJob) {
  AbortFixture f;
  f.answer = {AbortAnswer::Kind::already_ended, "job-3", "its job already ended: JOB_STATE_COMPLETE"};
  auto a = f.api.handle("POST", "/v1/jobs/r-3/abort", "");
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.body, "{\"error\":\"its job already ended: JOB_STATE_COMPLETE\",\"jobId\":\"job-3\"}");
}

TEST(ControlApiAbort, MessagesAreEscapedAndAMissingJobIsNull) {
  AbortFixture f;
  f.answer = {AbortAnswer::Kind::requested, "", "queued \"r\"\nwill not be sent"};
  auto a = f.api.handle("POST", "/v1/jobs/r/abort", "");
  EXPECT_EQ(a.status, 202);
  EXPECT_EQ(a.body, "{\"requestId\":\"r\",\"jobId\":null,\"abort\":\"requested\","
                    "\"message\":\"queued \\\"r\\\"\\nwill not be sent\"}");
  f.answer = {AbortAnswer::Kind::already_ended, "job-4", ""};  // no message: a default one
  auto ended = f.api.handle("POST", "/v1/jobs/r/abort", "");
  EXPECT_EQ(ended.status, 409);
  EXPECT_NE(ended.body.find("nothing to abort"), std::string::npos) << ended.body;
}

TEST(ControlApiAbort, PercentEncodedIdsAreDecoded) {
  AbortFixture f;
  f.answer = {AbortAnswer::Kind::requested, "job-5", "ok"};
  auto a = f.api.handle("POST", "/v1/jobs/c0ffee0000000001%3A4/abort", "");
  EXPECT_EQ(a.status, 202);
  EXPECT_TRUE(a.body.starts_with("{\"requestId\":\"c0ffee0000000001:4\"")) << a.body;
  EXPECT_EQ(f.api.handle("POST", "/v1/jobs/c0ffee0000000001%3a4/abort?x=1", "").status, 202);
  EXPECT_EQ(f.asked, (std::vector<std::string>{"c0ffee0000000001:4", "c0ffee0000000001:4"}));
}

TEST(ControlApiAbort, UnsafeOrEmptyIdsAre400AndNeverReachTheHook) {
  AbortFixture f;
  f.answer = {AbortAnswer::Kind::requested, "job", "ok"};
  for (std::string target : {"/v1/jobs//abort", "/v1/jobs/a/b/abort", "/v1/jobs/a%2Fb/abort", "/v1/jobs/..%2F..%2Fx/abort",
                             "/v1/jobs/a%20b/abort", "/v1/jobs/a%2/abort", "/v1/jobs/a%zz/abort", "/v1/jobs/%00/abort",
                             "/v1/jobs/a\"b/abort"}) {
    auto a = f.api.handle("POST", target, "");
    EXPECT_EQ(a.status, 400) << target;
    EXPECT_EQ(a.body, "{\"error\":\"a requestId is 1 to 128 of A-Z a-z 0-9 . _ : -\"}") << target;
  }
  EXPECT_EQ(f.api.handle("POST", "/v1/jobs/" + std::string(129, 'x') + "/abort", "").status, 400);
  EXPECT_EQ(f.api.handle("POST", "/v1/jobs/" + std::string(128, 'x') + "/abort", "").status, 202);
  EXPECT_EQ(f.asked.size(), 1u);
}

TEST(ControlApiAbort, OtherMethodsAre405) {
  AbortFixture f;
  for (const char* method : {"GET", "PUT", "DELETE", "HEAD"}) {
    auto a = f.api.handle(method, "/v1/jobs/r-1/abort", "");
    EXPECT_EQ(a.status, 405) << method;
    EXPECT_EQ(a.body, "{\"error\":\"use POST to abort\"}");
  }
  EXPECT_TRUE(f.asked.empty());
  // A request named "abort" is still read with GET /v1/jobs/abort (no lookup hook here: 404).
  EXPECT_EQ(f.api.handle("GET", "/v1/jobs/abort", "").status, 404);
}

TEST(ControlApiAbort, NoHookIs503) {
  ControlApi api{ControlHooks{}, ControlLimits{}};
  auto a = api.handle("POST", "/v1/jobs/r-1/abort", "");
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.body, "{\"error\":\"abort is not available\"}");
  EXPECT_EQ(api.handle("POST", "/v1/jobs/a%2Fb/abort", "").status, 400);
}

TEST(ControlApiAbort, AThrowingHookIs503WithTheReason) {
  AbortFixture f;
  f.throw_with = "the journal cannot commit: disk I/O error";
  auto a = f.api.handle("POST", "/v1/jobs/r-1/abort", "");
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.body, "{\"error\":\"the abort could not be taken: the journal cannot commit: disk I/O error\"}");
}
