// Role: the control socket's answers without a socket: posting (accepted lines keep their
// numbers and jobIds, refused lines are blank in what is stored, every refusal has the
// parser's reason), the error answers (empty, not JSON, too large, backlog full, storage
// failing), status and health.
#include "control/control_api.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

using namespace submitd::control;

namespace {

struct Fixture {
  DaemonStatus status;
  std::vector<bool> pauses;
  std::vector<std::pair<std::string, std::string>> stored;  // content, name
  bool fail_store = false;
  ControlApi api{ControlHooks{
                     [this] { return status; },
                     [this](const std::string& content, const std::string& name) {
                       if (fail_store) throw std::runtime_error("disk full");
                       stored.emplace_back(content, name);
                       return std::string("c0ffee0000000001");
                     },
                     [](const std::string& claim, std::uint64_t line) { return claim + "/" + std::to_string(line); },
                     [](const std::string& id) -> std::optional<RequestLookup> {
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
};

TEST(ControlApi, PostKeepsLineNumbersAndStoresOnlyTheAcceptable) {
  Fixture f;
  auto a = f.api.handle("POST", "/v1/jobs",
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

TEST(ControlApi, OneObjectOverSeveralLinesIsOneRequest) {
  Fixture f;
  auto a = f.api.handle("POST", "/v1/jobs", "{\n  \"templateId\": \"pretty\"\n}\n");
  EXPECT_EQ(a.status, 202) << a.body;
  ASSERT_EQ(f.stored.size(), 1u);
  EXPECT_EQ(f.stored[0].first.find('\n'), f.stored[0].first.size() - 1);  // stored on one line
}

TEST(ControlApi, NothingAcceptableIsA400WithTheReasons) {
  Fixture f;
  auto a = f.api.handle("POST", "/v1/jobs", "{\"name\":\"no template\"}\n");
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.body.find("\"rejected\":[{\"line\":1"), std::string::npos) << a.body;
  EXPECT_TRUE(f.stored.empty());
  EXPECT_EQ(f.api.handle("POST", "/v1/jobs", "").status, 400);
  auto not_json = f.api.handle("POST", "/v1/jobs", "hello world");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_NE(not_json.body.find("not JSON"), std::string::npos);
}

TEST(ControlApi, LimitsAndTroubleAnswerWithoutStoring) {
  Fixture f;
  EXPECT_EQ(f.api.handle("POST", "/v1/jobs", "{\n\"templateId\":\"" + std::string(300, 'x') + "\"}").status, 413);
  auto long_line = f.api.handle("POST", "/v1/jobs", "{\"templateId\":\"" + std::string(300, 'x') + "\"}\n{\"templateId\":\"ok\"}\n");
  EXPECT_EQ(long_line.status, 202);
  EXPECT_NE(long_line.body.find("longer than 200 bytes"), std::string::npos);
  f.stored.clear();
  f.status.backlog_files = 100;
  auto full = f.api.handle("POST", "/v1/jobs", "{\"templateId\":\"a\"}");
  EXPECT_EQ(full.status, 503);
  EXPECT_EQ(full.retry_after_s, 5);
  f.status.backlog_files = 0;
  f.fail_store = true;
  auto failing = f.api.handle("POST", "/v1/jobs", "{\"templateId\":\"a\"}");
  EXPECT_EQ(failing.status, 503);
  EXPECT_NE(failing.body.find("disk full"), std::string::npos);
  EXPECT_TRUE(f.stored.empty());
}

TEST(ControlApi, StatusHealthAndRouting) {
  Fixture f;
  f.status.version = "9.9.9";
  f.status.backlog_files = 3;
  auto s = f.api.handle("GET", "/v1/status", "");
  EXPECT_EQ(s.status, 200);
  EXPECT_NE(s.body.find("\"version\":\"9.9.9\""), std::string::npos);
  EXPECT_NE(s.body.find("\"backlogFiles\":3"), std::string::npos);
  EXPECT_EQ(f.api.handle("GET", "/healthz", "").status, 200);
  f.status.journal_ok = false;
  f.status.journal_error = "disk I/O error";
  EXPECT_EQ(f.api.handle("GET", "/healthz", "").status, 503);
  EXPECT_EQ(f.api.handle("GET", "/v1/jobs", "").status, 405);
  EXPECT_EQ(f.api.handle("GET", "/nope", "").status, 404);
  EXPECT_EQ(f.api.handle("GET", "/v1/jobs/r1", "").status, 404);
  EXPECT_EQ(f.api.handle("GET", "/v1/jobs/bad%20id", "").status, 400);
  auto working = f.api.handle("GET", "/v1/jobs/working", "");
  EXPECT_EQ(working.status, 200);
  EXPECT_EQ(working.body, "{\"requestId\":\"working\",\"jobId\":\"job-w\",\"state\":\"submitting\","
                          "\"attempts\":0,\"error\":null,\"final\":null}");
  auto done = f.api.handle("GET", "/v1/jobs/done-1", "");
  EXPECT_EQ(done.body, "{\"requestId\":\"done-1\",\"jobId\":\"job-d\",\"state\":\"failed\",\"attempts\":3,"
                       "\"error\":{\"stage\":\"create\",\"httpStatus\":403,\"message\":\"no\"},\"final\":null}");
}

}  // namespace

TEST(ControlApi, PauseAndResume) {
  Fixture f;
  auto p = f.api.handle("POST", "/v1/pause", "");
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, "{\"paused\":true}");
  EXPECT_EQ(f.api.handle("POST", "/v1/resume", "").body, "{\"paused\":false}");
  EXPECT_EQ(f.pauses, (std::vector<bool>{true, false}));
  EXPECT_EQ(f.api.handle("GET", "/v1/pause", "").status, 405);
  f.fail_store = true;
  auto failed = f.api.handle("POST", "/v1/pause", "");
  EXPECT_EQ(failed.status, 503);
  EXPECT_NE(failed.body.find("read-only file system"), std::string::npos);
}
