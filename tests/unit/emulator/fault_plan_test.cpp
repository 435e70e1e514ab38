// FaultPlan decisions (seeded, scripted) and how the Emulator carries them out: no work done
// for 503/429/reset-before, work done then a dropped connection for reset-after.
#include "fault_plan.hpp"

#include "emulator_fixture.hpp"

namespace emulator::testing {
namespace {

using Before = FaultDecision::Before;

TEST(FaultPlan, NoKnobsNoFaults) {
  FaultPlan plan({}, 1);
  for (int i = 0; i < 1000; ++i) {
    auto d = plan.decide("GET", "/v1/customer/jobs");
    EXPECT_EQ(d.before, Before::none);
    EXPECT_FALSE(d.reset_after);
    EXPECT_EQ(d.latency.count(), 0);
  }
}

TEST(FaultPlan, SameSeedSameSequence) {
  FaultKnobs k;
  k.fail_503 = 0.3;
  k.reset_after = 0.3;
  FaultPlan a(k, 42), b(k, 42), c(k, 43);
  int differences = 0;
  for (int i = 0; i < 200; ++i) {
    auto da = a.decide("GET", "/v1/x"), db = b.decide("GET", "/v1/x"),
         dc = c.decide("GET", "/v1/x");
    EXPECT_EQ(da.before, db.before);
    EXPECT_EQ(da.reset_after, db.reset_after);
    differences += da.before != dc.before || da.reset_after != dc.reset_after;
  }
  EXPECT_GT(differences, 0);
}

TEST(FaultPlan, ProbabilitiesAreRoughlyRespected) {
  FaultKnobs k;
  k.fail_429 = 0.1;
  k.retry_after_s = 7;
  FaultPlan plan(k, 7);
  int hits = 0;
  for (int i = 0; i < 20000; ++i) {
    auto d = plan.decide("POST", "/v1/customer/jobs");
    if (d.before == Before::status) {
      ++hits;
      EXPECT_EQ(d.status, 429);
      EXPECT_EQ(d.retry_after_s, 7);
    }
  }
  EXPECT_GT(hits, 1700);
  EXPECT_LT(hits, 2300);
}

TEST(FaultPlan, ScriptedFaultsComeFirstAndMatchMethodAndPath) {
  FaultPlan plan({}, 1);
  ScriptedFault f;
  f.status = 500;
  f.count = 2;
  f.method = "POST";
  f.path_contains = "/run";
  plan.add_scripted(f);
  EXPECT_EQ(plan.scripted_pending(), 2u);
  EXPECT_EQ(plan.decide("GET", "/v1/customer/jobs/x/run").before, Before::none);
  EXPECT_EQ(plan.decide("POST", "/v1/customer/jobs").before, Before::none);
  auto d = plan.decide("POST", "/v1/customer/jobs/x/run");
  EXPECT_EQ(d.before, Before::status);
  EXPECT_EQ(d.status, 500);
  EXPECT_EQ(plan.decide("POST", "/v1/customer/jobs/y/run").status, 500);
  EXPECT_EQ(plan.decide("POST", "/v1/customer/jobs/z/run").before, Before::none);
  EXPECT_EQ(plan.scripted_pending(), 0u);
}

class FaultInjection : public EmulatorFixture {
 protected:
  void configure(std::string_view body) {
    ASSERT_EQ(call("POST", "/_emulator/config", body).status, 200);
  }
};

TEST_F(FaultInjection, Injected503DoesNoWork) {
  configure(R"({"fail503":1})");
  Reply r = create("t1", job_a);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.obj().at("ok"), false);
  EXPECT_EQ(n(r.obj().at("error").at("code")), 503);
  EXPECT_FALSE(r.raw.retry_after_s);
  configure(R"({"fail503":0})");
  EXPECT_EQ(call("GET", job(job_a)).status, 404);
  EXPECT_EQ(n(ledger().at("faults").at("injected503")), 1);
  EXPECT_EQ(n(ledger().at("totals").at("creates")), 0);
}

TEST_F(FaultInjection, Injected429CarriesRetryAfter) {
  configure(R"({"fail429":1,"retryAfterS":3})");
  Reply r = create("t1", job_a);
  EXPECT_EQ(r.status, 429);
  ASSERT_TRUE(r.raw.retry_after_s);
  EXPECT_EQ(*r.raw.retry_after_s, 3);
  EXPECT_EQ(n(ledger().at("totals").at("jobs")), 0);
}

TEST_F(FaultInjection, ResetBeforeDoesNoWork) {
  configure(R"({"resetBefore":1})");
  Reply r = create("t1", job_a);
  EXPECT_EQ(r.raw.disposition, Disposition::reset_before);
  configure(R"({"resetBefore":0})");
  EXPECT_EQ(call("GET", job(job_a)).status, 404);
  EXPECT_EQ(n(ledger().at("faults").at("resetsBefore")), 1);
}

TEST_F(FaultInjection, ResetAfterDoesTheWorkThenDrops) {
  ASSERT_EQ(create("t1", job_a).status, 200);
  ASSERT_EQ(set_bypass(job_a).status, 200);
  configure(R"({"resetAfter":1})");
  Reply r = run(job_a);
  EXPECT_EQ(r.raw.disposition, Disposition::reset_after_work);
  configure(R"({"resetAfter":0})");
  EXPECT_EQ(state_of(job_a), "JOB_STATE_PARTITIONING");
  EXPECT_EQ(n(ledger_job(job_a).at("runs")), 1);
  EXPECT_EQ(n(ledger().at("faults").at("resetsAfter")), 1);
}

TEST_F(FaultInjection, LatencyIsAskedForOnApiAnswersOnly) {
  configure(R"({"latencyMs":250})");
  EXPECT_EQ(call("GET", jobs()).raw.delay.count(), 250);
  EXPECT_EQ(call("GET", "/_emulator/ledger/summary").raw.delay.count(), 0);
}

TEST_F(FaultInjection, InterimAnswersAreAskedForOnApiAnswersAndCounted) {
  configure(R"({"interim103":1})");
  EXPECT_TRUE(call("GET", jobs()).raw.interim_103);
  EXPECT_FALSE(call("GET", "/_emulator/ledger/summary").raw.interim_103);
  configure(R"({"interim103":0})");
  EXPECT_FALSE(call("GET", jobs()).raw.interim_103);
  EXPECT_EQ(n(ledger().at("faults").at("interim103")), 1);
  EXPECT_EQ(call("POST", "/_emulator/config", R"({"interim103":2})").status, 400);  // a probability
}

TEST_F(FaultInjection, TestHooksAreNeverFaulted) {
  configure(R"({"fail503":1,"resetBefore":1})");
  EXPECT_EQ(call("GET", "/_emulator/ledger").status, 200);
  EXPECT_EQ(call("GET", "/_emulator/ledger").raw.disposition, Disposition::respond);
}

TEST_F(FaultInjection, FailNextHookScriptsDeterministicFaults) {
  Reply s = call("POST", "/_emulator/fail-next", R"({"status":500,"count":2,"path":"/jobs"})");
  ASSERT_EQ(s.status, 200) << s.raw.body;
  EXPECT_EQ(n(s.obj().at("pending")), 2);
  EXPECT_EQ(exchange("demo-key").status, 200);  // path does not match
  EXPECT_EQ(create("t1").status, 500);
  EXPECT_EQ(call("GET", jobs()).status, 500);
  EXPECT_EQ(call("GET", jobs()).status, 200);
  EXPECT_EQ(n(ledger().at("faults").at("injectedOther")), 2);

  ASSERT_EQ(call("POST", "/_emulator/fail-next", R"({"action":"reset-after"})").status, 200);
  EXPECT_EQ(create("t1", job_a).raw.disposition, Disposition::reset_after_work);
  EXPECT_EQ(call("GET", job(job_a)).status, 200);

  ASSERT_EQ(call("POST", "/_emulator/fail-next", R"({"status":429,"count":5})").status, 200);
  EXPECT_EQ(call("DELETE", "/_emulator/fail-next").status, 200);
  EXPECT_EQ(call("GET", jobs()).status, 200);

  EXPECT_EQ(call("POST", "/_emulator/fail-next", R"({"status":200})").status, 400);
  EXPECT_EQ(call("POST", "/_emulator/fail-next", R"({"action":"explode"})").status, 400);
  EXPECT_EQ(call("POST", "/_emulator/fail-next", R"({"count":0})").status, 400);
}

}  // namespace
}  // namespace emulator::testing
