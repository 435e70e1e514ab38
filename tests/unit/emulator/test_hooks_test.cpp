// The /_emulator test hooks: ledger shape, run-time config, reset, loopback-only access.
#include "emulator_fixture.hpp"

namespace emulator::testing {
namespace {

using namespace std::chrono_literals;

class TestHooks : public EmulatorFixture {};

TEST_F(TestHooks, LedgerHasJobsAndSummaryHasNot) {
  launch("t1", job_a);
  json::object full = ledger();
  ASSERT_TRUE(full.contains("jobs"));
  const auto& entry = full.at("jobs").at(0).as_object();
  for (const char* key :
       {"id", "templateId", "state", "creates", "datasourcePatches", "paramsPatches", "runs",
        "rejectedRuns", "aborts", "dataSourceSet", "paramsSet", "name", "testJob"})
    EXPECT_TRUE(entry.contains(key)) << key;

  Reply summary = call("GET", "/_emulator/ledger/summary");
  ASSERT_EQ(summary.status, 200);
  EXPECT_FALSE(summary.obj().contains("jobs"));
  EXPECT_EQ(n(summary.obj().at("totals").at("runs")), 1);
  EXPECT_EQ(n(summary.obj().at("tokenExchanges")), 1);
}

TEST_F(TestHooks, ConfigChangesTokenLifetimeForNewTokens) {
  Reply c = call("POST", "/_emulator/config", R"({"tokenLifetimeS":2})");
  ASSERT_EQ(c.status, 200) << c.raw.body;
  EXPECT_EQ(n(c.obj().at("tokenLifetimeS")), 2);
  Reply t = exchange("demo-key");
  EXPECT_EQ(t.str("expiresIn"), "2");
  const std::string short_token = t.str("token");
  clock_.advance(2s);
  EXPECT_EQ(call("GET", jobs(), "", short_token).status, 401);
  EXPECT_EQ(call("GET", jobs()).status, 200);  // the first token keeps its hour
}

TEST_F(TestHooks, ConfigRotatesTheAcceptedKeysWithoutEchoingThem) {
  Reply c = call("POST", "/_emulator/config", R"({"apiKeys":["next-key"]})");
  ASSERT_EQ(c.status, 200) << c.raw.body;
  EXPECT_EQ(c.raw.body.find("next-key"), std::string::npos) << c.raw.body;
  EXPECT_EQ(exchange("demo-key").status, 401);
  EXPECT_EQ(exchange("next-key").status, 200);
  EXPECT_EQ(call("POST", "/_emulator/config", R"({"apiKeys":[]})").status, 400);
  EXPECT_EQ(call("POST", "/_emulator/config", R"({"apiKeys":["ok", 3]})").status, 400);
  EXPECT_EQ(call("POST", "/_emulator/config", R"({"apiKeys":"next-key"})").status, 400);
  EXPECT_EQ(exchange("next-key").status, 200);  // a refused change changed nothing
}

TEST_F(TestHooks, ConfigRejectsBadValuesAndChangesNothing) {
  EXPECT_EQ(call("POST", "/_emulator/config", R"({"fail503":0.5,"fail429":2})").status, 400);
  EXPECT_EQ(call("POST", "/_emulator/config", R"({"latencyMs":-1})").status, 400);
  EXPECT_EQ(call("POST", "/_emulator/config", R"({"failAll":1})").status, 400);
  EXPECT_EQ(call("POST", "/_emulator/config", "nope").status, 400);
  Reply now = call("GET", "/_emulator/config");
  EXPECT_EQ(now.obj().at("fail503").to_number<double>(), 0.0);
}

TEST_F(TestHooks, ResetClearsJobsAndCounts) {
  launch("t1", job_a);
  ASSERT_EQ(call("POST", "/_emulator/reset").status, 200);
  json::object l = ledger();
  EXPECT_TRUE(l.at("jobs").as_array().empty());
  EXPECT_EQ(n(l.at("requests")), 0);
  EXPECT_EQ(n(l.at("totals").at("jobs")), 0);
  EXPECT_EQ(call("GET", job(job_a)).status, 404);
  EXPECT_EQ(call("GET", jobs()).status, 200);  // tokens survive a reset
}

TEST_F(TestHooks, SummaryCountsConnectionsClosedIdle) {
  EXPECT_EQ(n(call("GET", "/_emulator/ledger/summary").obj().at("connections").at("closedIdle")), 0);
  emu_->connection_closed_idle();  // what the HTTPS layer reports after its idle timeout
  emu_->connection_closed_idle();
  EXPECT_EQ(n(call("GET", "/_emulator/ledger/summary").obj().at("connections").at("closedIdle")), 2);
}

TEST_F(TestHooks, HooksAnswerLoopbackOnly) {
  ApiRequest req{"GET", "/_emulator/ledger", "", "", false};
  EXPECT_EQ(emu_->handle(req).status, 403);
  EXPECT_EQ(call("GET", "/_emulator/nothing").status, 404);
}

}  // namespace
}  // namespace emulator::testing
