// Role: the control socket's queue routes without a socket (queue_api.hpp): the report's
// JSON, each file action's answer by outcome, bodies refused before any hook, retry-now, and
// an unfinished request's state with its next retry in GET /v1/jobs/{id}.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "control/control_api.hpp"

using namespace submitd::control;
using submitd::WallTime;
namespace spool = submitd::spool;

// The queue routes (queue_api.hpp), with hooks that record what they were asked.
namespace {

struct QueueFixture {
  spool::QueueReport report;
  std::vector<std::tuple<std::string, std::string, bool>> actions;  // verb, file, abortRunning
  spool::FileActionResult next{spool::FileActionResult::Kind::done, "0123456789abcdef", "a.jsonl", "held"};
  std::size_t asked_limit = 0;
  ControlApi api{[this] {
                   ControlHooks h;
                   h.status = [] { return DaemonStatus{}; };
                   h.queue = [this](std::size_t limit) {
                     asked_limit = limit;
                     return report;
                   };
                   h.file_action = [this](std::string_view verb, const std::string& file, bool abort_running) {
                     actions.emplace_back(std::string(verb), file, abort_running);
                     return next;
                   };
                   h.retry_now = [] { return std::size_t{7}; };
                   return h;
                 }(),
                 ControlLimits{}};
};

}  // namespace

TEST(ControlApiQueue, TheReportListsEachFileWithItsRequests) {
  QueueFixture f;
  const WallTime now = std::chrono::system_clock::now();
  spool::QueuedFile waiting;
  waiting.name = "new \"one\".jsonl";
  waiting.arrived = now - std::chrono::seconds(90);
  waiting.bytes = 120;
  spool::QueuedFile worked;
  worked.claim_id = "0123456789abcdef";
  worked.name = "a.jsonl";
  worked.state = spool::QueuedFileState::working;
  worked.waiting = 3;
  worked.in_flight = 2;
  worked.deferred = 1;
  worked.next_retry = WallTime(std::chrono::seconds(1'700'000'000));
  worked.next_retry_reason = "http_503";
  worked.submitted = 10;
  worked.failed = 1;
  f.report.files = {waiting, worked};
  f.report.incoming_total = 5;
  auto a = f.api.handle("GET", "/v1/queue?limit=1", "");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(f.asked_limit, 1u);
  EXPECT_NE(a.body.find("\"incomingTotal\":5"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("{\"claimId\":null,\"name\":\"new \\\"one\\\".jsonl\",\"state\":\"incoming\""), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("\"requests\":{\"waiting\":3,\"inFlight\":2,\"deferred\":1,\"submitted\":10,\"failed\":1,"
                        "\"following\":0},\"nextRetry\":{\"at\":\"2023-11-14T22:13:20"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("\"reason\":\"http_503\""), std::string::npos) << a.body;
  EXPECT_EQ(f.api.handle("GET", "/v1/queue", "").status, 200);
  EXPECT_EQ(f.asked_limit, 1000u);
  EXPECT_EQ(f.api.handle("POST", "/v1/queue", "").status, 405);
  EXPECT_EQ(f.api.handle("GET", "/v1/queuex", "").status, 404);
  EXPECT_EQ(f.api.handle("GET", "/v1/queue/nothing", "").status, 404);
}

TEST(ControlApiQueue, FileActionsTakeAFileAndAnswerWithTheOutcome) {
  QueueFixture f;
  auto held = f.api.handle("POST", "/v1/queue/hold", R"({"file":"a.jsonl"})");
  EXPECT_EQ(held.status, 200) << held.body;
  EXPECT_EQ(held.body, R"({"done":"held","action":"hold","file":"a.jsonl","claimId":"0123456789abcdef"})");
  f.api.handle("POST", "/v1/queue/cancel", R"({"file":"b.jsonl","abortRunning":true})");
  ASSERT_EQ(f.actions.size(), 2u);
  EXPECT_EQ(f.actions[1], std::make_tuple(std::string("cancel"), std::string("b.jsonl"), true));
  using Kind = spool::FileActionResult::Kind;
  for (auto [kind, status] : {std::pair{Kind::unknown, 404}, {Kind::conflict, 409}, {Kind::bad_input, 400},
                              {Kind::failed, 503}}) {
    f.next.kind = kind;
    f.next.message = "why";
    auto a = f.api.handle("POST", "/v1/queue/release", R"({"file":"x"})");
    EXPECT_EQ(a.status, status);
    EXPECT_NE(a.body.find("\"error\":\"why\""), std::string::npos) << a.body;
    EXPECT_EQ(a.retry_after_s.has_value(), status == 503);
  }
  const std::size_t asked = f.actions.size();
  for (const char* bad : {"", "{}", R"({"file":""})", R"({"file":3})", "not json", R"({"file":"x","abortRunning":"yes"})"}) {
    EXPECT_EQ(f.api.handle("POST", "/v1/queue/cancel", bad).status, 400) << bad;
  }
  EXPECT_EQ(f.api.handle("POST", "/v1/queue/hold", R"({"file":"x","abortRunning":true})").status, 400);
  EXPECT_EQ(f.actions.size(), asked);  // none reached the hook
  EXPECT_EQ(f.api.handle("GET", "/v1/queue/hold", R"({"file":"x"})").status, 405);
  auto woken = f.api.handle("POST", "/v1/queue/retry-now", "");
  EXPECT_EQ(woken.status, 200);
  EXPECT_EQ(woken.body, R"({"woken":7})");
}

TEST(ControlApiQueue, WithoutTheHooksTheRoutesAre503) {
  ControlApi api{ControlHooks{}, ControlLimits{}};
  EXPECT_EQ(api.handle("GET", "/v1/queue", "").status, 503);
}

TEST(ControlApi, AnUnfinishedRequestSaysWhereItIsAndWhenItRetries) {
  ControlHooks h;
  h.lookup = [](const std::string&) -> std::optional<RequestLookup> {
    RequestLookup r{"job-d", false, ""};
    r.state = "deferred";
    r.retry_reason = "timeout";
    r.next_retry = WallTime(std::chrono::seconds(1'700'000'000));
    return r;
  };
  ControlApi api{h, ControlLimits{}};
  auto a = api.handle("GET", "/v1/jobs/r1", "");
  ASSERT_EQ(a.status, 200);
  EXPECT_NE(a.body.find(R"("state":"deferred","nextRetry":{"at":"2023-11-14T22:13:20)"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find(R"("reason":"timeout")"), std::string::npos) << a.body;
}
