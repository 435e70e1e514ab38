// Role: queue inspection and control end to end, with the real daemon, the emulator and the
// real bytenite-submit: queue (text and --json), hold, release, cancel (and --abort-running),
// requeue and retry-now, each with its exit status; holds and cancels survive a restart;
// GET /v1/jobs/{requestId} says paused, held and deferred; and no job runs that should not.
#include <simdjson.h>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "harness.hpp"
#include "ledger.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

class QueueControl : public TempDirTest {
 protected:
  QueueControl() : TempDirTest("queuectl") {}
  fs::path socket() const { return dir_ / "control.sock"; }
  // One file read at a time, so a file whose reading waits keeps the next in incoming/.
  std::string toml(const std::string& api = "") const {
    return api + "\n[control]\nsocket = \"" + socket().string() + "\"\n[spool]\ndir = \"" +
           (dir_ / "daemon" / "spool").string() + "\"\nrescan_interval_ms = 250\nmax_active_files = 1\n";
  }
  int cli(const std::vector<std::string>& args, std::string& out) {
    std::vector<std::string> full{"--socket", socket().string()};
    full.insert(full.end(), args.begin(), args.end());
    return run_cli(full, dir_ / fmt::format("cli-{}.out", ++calls_), out);
  }
  // The queue as the daemon reports it: state of the file named `name`, "" when not listed.
  std::string state_of(const std::string& name, std::string* claim = nullptr) {
    auto answer = unix_http(socket(), "GET", "/v1/queue", "");
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (answer.status != 200 || parser.parse(simdjson::padded_string(answer.body)).get(doc)) return "";
    for (auto f : doc["files"].get_array()) {
      if (std::string_view(f["name"]) != name) continue;
      if (claim && f["claimId"].is_string()) *claim = std::string(std::string_view(f["claimId"]));
      return std::string(std::string_view(f["state"]));
    }
    return "";
  }
  std::string request_state(const std::string& request_id) {
    auto answer = unix_http(socket(), "GET", "/v1/jobs/" + request_id, "");
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (answer.status != 200 || parser.parse(simdjson::padded_string(answer.body)).get(doc)) return "";
    return std::string(std::string_view(doc["state"]));
  }
  int calls_ = 0;
};

std::vector<std::string> outcome_lines_of(const DaemonUnderTest& d, const std::string& subdir, const std::string& stem) {
  for (const auto& e : fs::directory_iterator(d.spool() / subdir)) {
    const std::string name = e.path().filename().string();
    if (name.find(stem) != std::string::npos && name.ends_with(".outcome.jsonl")) return read_lines(e.path());
  }
  return {};
}

}  // namespace

TEST_F(QueueControl, HoldCancelAndRequeueSurviveARestartAndRunNothingTwice) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator, toml());
  daemon.start();
  ASSERT_TRUE(eventually([&] { return unix_http(socket(), "GET", "/healthz", "").status == 200; }, 20s))
      << read_file(daemon.log_file());
  std::string out;
  ASSERT_EQ(cli({"pause"}, out), 0) << out;
  daemon.drop("a.jsonl", request_lines(1, 5));
  ASSERT_TRUE(eventually([&] { return state_of("a.jsonl") == "working" && request_state("it-5") == "paused"; }, 20s));

  ASSERT_EQ(cli({"hold", "a.jsonl"}, out), 0) << out;
  EXPECT_NE(out.find("held"), std::string::npos) << out;
  EXPECT_EQ(state_of("a.jsonl"), "held");
  EXPECT_TRUE(eventually([&] { return request_state("it-1") == "held"; }, 10s));
  daemon.drop("b.jsonl", request_lines(6, 5));
  daemon.drop("c.jsonl", request_lines(11, 3));
  ASSERT_TRUE(eventually([&] { return state_of("b.jsonl") == "working" && state_of("c.jsonl") == "working"; }, 20s));

  ASSERT_EQ(cli({"queue"}, out), 0) << out;
  EXPECT_NE(out.find("CLAIM"), std::string::npos) << out;
  EXPECT_NE(out.find("a.jsonl"), std::string::npos) << out;
  EXPECT_NE(out.find("0 in incoming/, 3 in active/"), std::string::npos) << out;
  ASSERT_EQ(cli({"queue", "--json"}, out), 0) << out;
  EXPECT_NE(out.find("\"incomingTotal\":0"), std::string::npos) << out;

  // A cancel ends every request not yet run, even while paused; its retry file keeps them.
  ASSERT_EQ(cli({"cancel", "b.jsonl"}, out), 0) << out;
  ASSERT_TRUE(eventually([&] { return fs::exists(daemon.spool() / "failed" / "b.retry.jsonl"); }, 20s))
      << read_file(daemon.log_file());
  auto cancelled = outcome_lines_of(daemon, "failed", "b.jsonl");
  ASSERT_EQ(cancelled.size(), 5u);
  for (const auto& line : cancelled) EXPECT_NE(line.find("\"stage\":\"cancelled\""), std::string::npos) << line;

  // Refusals, each with its exit status.
  EXPECT_EQ(cli({"hold", "nope.jsonl"}, out), 1) << out;
  EXPECT_NE(out.find("no file by that name"), std::string::npos) << out;
  EXPECT_EQ(cli({"release", "c.jsonl"}, out), 1) << out;
  EXPECT_NE(out.find("not held"), std::string::npos) << out;
  EXPECT_EQ(cli({"requeue", "done/b.jsonl"}, out), 1) << out;
  EXPECT_EQ(cli({"hold"}, out), 2) << out;  // usage

  ASSERT_EQ(daemon.stop(), 0);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return state_of("a.jsonl") == "held" && state_of("c.jsonl") == "working"; }, 20s))
      << read_file(daemon.log_file());
  EXPECT_EQ(request_state("it-2"), "held");  // accepted before the restart, its file still held
  ASSERT_EQ(cli({"resume"}, out), 0) << out;
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 30s));
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 3);  // c only: a is held, b cancelled
  EXPECT_EQ(state_of("a.jsonl"), "held");

  ASSERT_EQ(cli({"requeue", "failed/b.retry.jsonl"}, out), 0) << out;
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 2; }, 30s));
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 8);
  ASSERT_EQ(cli({"release", "a.jsonl"}, out), 0) << out;
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 3; }, 30s));
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 13);
  auto ledger = read_ledger(emulator);
  ASSERT_EQ(ledger.size(), 13u);
  for (const auto& [id, job] : ledger) {
    EXPECT_EQ(job.creates, 1) << id;
    EXPECT_TRUE(ran_once(job)) << id;
  }
  ASSERT_EQ(cli({"queue", "--json"}, out), 0) << out;
  EXPECT_NE(out.find("\"files\":[]"), std::string::npos) << out;
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(QueueControl, DeferredRequestsShowWhyAndAFileWaitingInIncomingCanBeHeldAndCancelled) {
  Emulator emulator(dir_ / "emulator", {"--fail-503", "1"});
  // Four requests accepted at most: a longer file waits to read on, keeping the next in incoming/.
  DaemonUnderTest daemon(dir_ / "daemon", emulator, toml("max_inflight = 1\nretry_base_ms = 2000\n"));
  daemon.start();
  daemon.drop("long.jsonl", request_lines(1, 10));
  ASSERT_TRUE(eventually([&] { return request_state("it-1") == "deferred"; }, 20s)) << read_file(daemon.log_file());
  auto job = unix_http(socket(), "GET", "/v1/jobs/it-1", "");
  EXPECT_NE(job.body.find("\"nextRetry\":{\"at\":"), std::string::npos) << job.body;
  std::string out;
  ASSERT_EQ(cli({"retry-now"}, out), 0) << out;
  EXPECT_NE(out.find("try again now"), std::string::npos) << out;

  daemon.drop("later.jsonl", request_lines(11, 2));
  ASSERT_TRUE(eventually([&] { return state_of("later.jsonl") == "incoming"; }, 10s));
  ASSERT_EQ(cli({"hold", "later.jsonl", "--json"}, out), 0) << out;
  EXPECT_NE(out.find("\"claimId\":\""), std::string::npos) << out;
  std::string claim;
  EXPECT_EQ(state_of("later.jsonl", &claim), "held");
  ASSERT_EQ(claim.size(), 16u);

  ASSERT_EQ(cli({"cancel", "long.jsonl", "--abort-running"}, out), 0) << out;
  ASSERT_TRUE(eventually([&] { return fs::exists(daemon.spool() / "failed" / "long.retry.jsonl"); }, 30s))
      << read_file(daemon.log_file());
  EXPECT_EQ(read_lines(daemon.spool() / "failed" / "long.retry.jsonl").size(), 10u);
  ASSERT_EQ(cli({"cancel", claim}, out), 0) << out;  // by claim id: a held file is started, cancelled
  ASSERT_TRUE(eventually([&] { return fs::exists(daemon.spool() / "failed" / "later.retry.jsonl"); }, 30s));
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 0);
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(QueueControl, CancelWithAbortRunningAbortsTheJobsOfAFileBeingFollowed) {
  Emulator emulator(dir_ / "emulator", {"--job-duration-ms", "600000"});
  DaemonUnderTest daemon(dir_ / "daemon", emulator, toml() + "\n[follow]\nenabled = true\npoll_interval_s = 1\n");
  daemon.start();
  daemon.drop("long-jobs.jsonl", request_lines(1, 4));
  ASSERT_TRUE(eventually([&] { return state_of("long-jobs.jsonl") == "following"; }, 20s)) << read_file(daemon.log_file());
  std::string out;
  EXPECT_EQ(cli({"cancel", "long-jobs.jsonl"}, out), 1) << out;
  EXPECT_NE(out.find("--abort-running"), std::string::npos) << out;
  EXPECT_EQ(ledger_count(emulator, "totals.aborts"), 0);
  ASSERT_EQ(cli({"cancel", "long-jobs.jsonl", "--abort-running"}, out), 0) << out;
  ASSERT_TRUE(eventually([&] { return ledger_count(emulator, "totals.aborts") == 4; }, 20s)) << read_file(daemon.log_file());
  // Following sees the jobs end aborted, and the file is placed with their final state.
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 30s));
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 4);
  EXPECT_EQ(daemon.stop(), 0);
}

// A cancel is kept across a crash: whether the daemon placed the file before the SIGKILL or
// not, after the restart every request of it has ended cancelled and none ran.
TEST_F(QueueControl, ACancelSurvivesASigkillAndNothingOfTheFileRuns) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator, toml());
  daemon.start();
  ASSERT_TRUE(eventually([&] { return unix_http(socket(), "GET", "/healthz", "").status == 200; }, 20s));
  std::string out;
  ASSERT_EQ(cli({"pause"}, out), 0) << out;
  daemon.drop("doomed.jsonl", request_lines(1, 300));
  ASSERT_TRUE(eventually([&] { return state_of("doomed.jsonl") == "working"; }, 20s));
  ASSERT_EQ(cli({"cancel", "doomed.jsonl", "--json"}, out), 0) << out;
  EXPECT_NE(out.find("\"action\":\"cancel\""), std::string::npos) << out;
  daemon.kill_hard();
  daemon.start();
  ASSERT_TRUE(eventually([&] { return unix_http(socket(), "GET", "/healthz", "").status == 200; }, 20s));
  ASSERT_EQ(cli({"resume"}, out), 0) << out;
  ASSERT_TRUE(eventually([&] { return daemon.count_files("failed", ".outcome.jsonl") == 1; }, 60s))
      << read_file(daemon.log_file());
  auto lines = outcome_lines_of(daemon, "failed", "doomed.jsonl");
  ASSERT_EQ(lines.size(), 300u);
  for (const auto& line : lines) EXPECT_NE(line.find("\"stage\":\"cancelled\""), std::string::npos) << line;
  EXPECT_EQ(read_lines(daemon.spool() / "failed" / "doomed.retry.jsonl").size(), 300u);
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 0);
  ASSERT_EQ(cli({"retry-now", "--json"}, out), 0) << out;
  EXPECT_NE(out.find("{\"woken\":0}"), std::string::npos) << out;
  EXPECT_EQ(daemon.stop(), 0);
}
