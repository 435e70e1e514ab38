// Role: the control socket end to end with the real daemon: posted requests are acknowledged
// with the jobIds they then get (and survive a SIGKILL right after the acknowledgement, or in
// the middle of a burst of posts from many clients),
// status and health answer, the socket file has mode 0660, and broken or hostile clients get
// HTTP answers while many others are served at once.
#include <signal.h>
#include <simdjson.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <thread>

#include "harness.hpp"
#include "ledger.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

class ControlSocket : public TempDirTest {
 protected:
  ControlSocket() : TempDirTest("control") {}
  fs::path socket() const { return dir_ / "control.sock"; }
  std::string control_toml() const { return "\n[control]\nsocket = \"" + socket().string() + "\"\n"; }
};

std::vector<std::string> job_ids_in(const std::string& json, const char* list = "accepted") {
  std::vector<std::string> ids;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(simdjson::padded_string(json)).get(doc)) return ids;
  for (auto a : doc[list].get_array()) ids.emplace_back(std::string_view(a["jobId"]));
  return ids;
}

std::set<std::string> outcome_job_ids(const DaemonUnderTest& d) {
  std::set<std::string> ids;
  simdjson::dom::parser parser;
  for (const auto& line : all_outcomes(d)) {
    simdjson::dom::element r;
    if (!parser.parse(simdjson::padded_string(line)).get(r) && r["jobId"].is_string()) {
      ids.emplace(std::string_view(r["jobId"]));
    }
  }
  return ids;
}

}  // namespace

TEST_F(ControlSocket, PostedRequestsBecomeTheAnnouncedJobs) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator, control_toml());
  daemon.start();
  ASSERT_TRUE(eventually([&] { return unix_http(socket(), "GET", "/healthz", "").status == 200; }, 20s))
      << read_file(daemon.log_file());
  struct stat st {};
  ASSERT_EQ(::lstat(socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  auto posted = unix_http(socket(), "POST", "/v1/jobs",
                          request_line(1) + "\n{\"templateId\": 3}\n" + request_line(2) + "\n");
  ASSERT_EQ(posted.status, 202) << posted.body;
  auto announced = job_ids_in(posted.body);
  ASSERT_EQ(announced.size(), 2u) << posted.body;
  EXPECT_NE(posted.body.find("\"rejected\":[{\"line\":2"), std::string::npos) << posted.body;
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 30s));
  EXPECT_EQ(outcome_job_ids(daemon), std::set<std::string>(announced.begin(), announced.end()));
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 2);

  auto status = unix_http(socket(), "GET", "/v1/status", "");
  EXPECT_EQ(status.status, 200);
  EXPECT_NE(status.body.find("\"spoolWatched\":true"), std::string::npos) << status.body;
  EXPECT_NE(status.body.find("\"apiAnswering\":true"), std::string::npos) << status.body;
  // Looked up by requestId after the file was placed: the index kept its outcome.
  auto job = unix_http(socket(), "GET", "/v1/jobs/it-1", "");
  EXPECT_EQ(job.status, 200);
  EXPECT_NE(job.body.find("\"state\":\"submitted\""), std::string::npos) << job.body;
  EXPECT_NE(job.body.find(announced[0]), std::string::npos) << job.body;
  EXPECT_EQ(unix_http(socket(), "GET", "/v1/jobs/never-posted", "").status, 404);
  EXPECT_EQ(unix_http(socket(), "POST", "/v1/jobs", "not json at all").status, 400);
  EXPECT_EQ(daemon.stop(), 0);
  EXPECT_FALSE(fs::exists(socket()));  // removed at exit
}

TEST_F(ControlSocket, AnAcknowledgedPostSurvivesSigkill) {
  Emulator emulator(dir_ / "emulator", {"--latency-ms", "200"});
  DaemonUnderTest daemon(dir_ / "daemon", emulator, control_toml());
  daemon.start();
  ASSERT_TRUE(eventually([&] { return unix_http(socket(), "GET", "/healthz", "").status == 200; }, 20s));
  std::string body = request_lines(100, 20);
  auto posted = unix_http(socket(), "POST", "/v1/jobs", body);
  ASSERT_EQ(posted.status, 202);
  daemon.kill_hard();  // right after the acknowledgement, with calls still in flight
  daemon.start();
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 60s))
      << read_file(daemon.log_file());
  auto announced = job_ids_in(posted.body);
  EXPECT_EQ(outcome_job_ids(daemon), std::set<std::string>(announced.begin(), announced.end()));
  for (const auto& [id, job] : read_ledger(emulator)) EXPECT_TRUE(ran_once(job)) << id;
  EXPECT_EQ(daemon.stop(), 0);
}

// Posts from many clients share commits now: a kill in the middle of a burst must still leave
// every acknowledged post run exactly once, and nothing run twice.
TEST_F(ControlSocket, ABurstOfPostsFromManyClientsSurvivesSigkill) {
  Emulator emulator(dir_ / "emulator", {"--latency-ms", "5"});
  DaemonUnderTest daemon(dir_ / "daemon", emulator, control_toml());
  daemon.start();
  ASSERT_TRUE(eventually([&] { return unix_http(socket(), "GET", "/healthz", "").status == 200; }, 20s));
  constexpr int kClients = 16, kKillAfter = 300;
  std::mutex mutex;
  std::vector<std::string> acknowledged;  // the jobIds of every 202
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 1000; ++i) {  // until the kill ends the daemon
        auto a = unix_http(socket(), "POST", "/v1/jobs", request_line(c * 1000 + i) + "\n");
        if (a.status != 202) return;
        std::lock_guard lock(mutex);
        for (auto& id : job_ids_in(a.body)) acknowledged.push_back(std::move(id));
      }
    });
  }
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return acknowledged.size() >= kKillAfter;
  }, 60s));
  daemon.kill_hard();  // posts are in every stage: read, being committed, answered
  for (auto& t : clients) t.join();
  daemon.start();
  const std::set<std::string> expected(acknowledged.begin(), acknowledged.end());
  ASSERT_EQ(expected.size(), acknowledged.size());
  ASSERT_TRUE(eventually([&] {
    const auto ids = outcome_job_ids(daemon);
    return std::includes(ids.begin(), ids.end(), expected.begin(), expected.end()) &&
           fs::is_empty(daemon.spool() / "active");
  }, 120s)) << read_file(daemon.log_file());
  // Posts stored but not answered before the kill may run too (their clients saw no 202):
  // they are still one job each.
  const auto outcomes = all_outcomes(daemon);
  const auto ids = outcome_job_ids(daemon);
  EXPECT_EQ(ids.size(), outcomes.size()) << "one job in two outcomes";
  EXPECT_LE(ids.size(), expected.size() + kClients);  // at most one unanswered post per client
  const auto ledger = read_ledger(emulator);
  EXPECT_EQ(ledger.size(), ids.size());
  for (const auto& [id, job] : ledger) {
    EXPECT_TRUE(ids.count(id)) << "a job no outcome names: " << id;
    EXPECT_TRUE(ran_once(job)) << id;
  }
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(ControlSocket, HostileClientsGetAnswersAndManyAreServedAtOnce) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator, control_toml());
  daemon.start();
  ASSERT_TRUE(eventually([&] { return unix_http(socket(), "GET", "/healthz", "").status == 200; }, 20s));
  EXPECT_EQ(unix_http(socket(), "\x01\x02 garbage \r\n\r\n").status, 400);
  EXPECT_EQ(unix_http(socket(), "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n{}").status, 413);
  EXPECT_EQ(unix_http(socket(), "GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') +
                                    "\r\n\r\n").status, 431);

  constexpr int kClients = 16;
  std::vector<std::thread> clients;
  std::vector<int> statuses(kClients);
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      statuses[static_cast<std::size_t>(c)] =
          unix_http(socket(), "POST", "/v1/jobs", request_line(1000 + c) + "\n" + request_line(2000 + c) + "\n").status;
    });
  }
  for (auto& t : clients) t.join();
  for (int c = 0; c < kClients; ++c) EXPECT_EQ(statuses[static_cast<std::size_t>(c)], 202) << c;
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == kClients; }, 60s));
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 2 * kClients);
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(ControlSocket, CliSubmitsThroughTheSocketAndShowsStatus) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator, control_toml());
  daemon.start();
  ASSERT_TRUE(eventually([&] { return unix_http(socket(), "GET", "/healthz", "").status == 200; }, 20s));
  auto input = dir_ / "two.jsonl";
  write_file(input, request_line(7) + "\n{\"templateId\":\"\"}\n" + request_line(8) + "\n");
  auto run = [&](const std::vector<std::string>& args, const std::string& tag, std::string& out) {
    return run_cli(args, dir_ / (tag + ".out"), out);
  };
  std::string out;
  // Through the configuration's control.socket: the answer names each request's job, and a
  // closing line sums them up.
  EXPECT_EQ(run({"--config", daemon.config_file().string(), "submit", input.string()}, "submit", out), 1) << out;
  EXPECT_NE(out.find("1 file: 2 requests accepted, 1 refused"), std::string::npos) << out;
  EXPECT_NE(out.find("accepted " + input.string() + " line 1: requestId it-7, jobId "), std::string::npos) << out;
  EXPECT_NE(out.find("refused " + input.string() + ": line 2: field \"templateId\""), std::string::npos) << out;
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 30s));
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 2);
  EXPECT_TRUE(fs::is_empty(daemon.spool() / "incoming"));  // it did not go by a spool drop

  EXPECT_EQ(run({"wait", "it-8", "--socket", socket().string(), "--timeout", "30"}, "wait-request", out), 0) << out;
  EXPECT_NE(out.find("\"state\":\"submitted\""), std::string::npos) << out;
  EXPECT_EQ(run({"wait", "no-such-request", "--socket", socket().string()}, "wait-unknown", out), 1) << out;
  EXPECT_EQ(run({"--socket", socket().string(), "status", "it-8"}, "status-request", out), 0) << out;
  EXPECT_NE(out.find("\"state\":\"submitted\""), std::string::npos) << out;
  EXPECT_EQ(run({"--socket", socket().string(), "status", "no-such-request"}, "status-unknown", out), 1) << out;
  EXPECT_EQ(run({"--socket", socket().string(), "status"}, "status", out), 0) << out;
  EXPECT_NE(out.find("\"version\":\"" SUBMITD_VERSION_FOR_TESTS "\""), std::string::npos) << out;
  EXPECT_EQ(daemon.stop(), 0);
  // A daemon that cannot be asked is exit 2 in every command.
  EXPECT_EQ(run({"--socket", socket().string(), "status"}, "status-down", out), 2);
  EXPECT_NE(out.find("is the daemon running?"), std::string::npos) << out;
  EXPECT_EQ(run({"pause", "--socket", socket().string()}, "pause-down", out), 2);
  EXPECT_EQ(run({"abort", "it-8", "--socket", socket().string()}, "abort-down", out), 2);
  EXPECT_EQ(run({"submit", input.string(), "--socket", socket().string()}, "submit-down", out), 2);
  EXPECT_NE(out.find("is the daemon running?"), std::string::npos) << out;
}

TEST_F(ControlSocket, PauseHoldsApiCallsAcrossARestartAndResumeReleasesThem) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator, control_toml());
  daemon.start();
  ASSERT_TRUE(eventually([&] { return unix_http(socket(), "GET", "/healthz", "").status == 200; }, 20s));
  auto paused = unix_http(socket(), "POST", "/v1/pause", "");
  ASSERT_EQ(paused.status, 200) << paused.body;
  std::string body = request_lines(300, 5);
  daemon.drop("held.jsonl", body);
  // Intake goes on: the requests are accepted (the journal knows them) and wait, paused ...
  ASSERT_TRUE(eventually([&] {
    auto r = unix_http(socket(), "GET", "/v1/jobs/it-304", "");
    return r.status == 200 && r.body.find("\"state\":\"paused\"") != std::string::npos;
  }, 20s));
  // ... but nothing reaches the API, across a restart too.
  EXPECT_EQ(ledger_count(emulator, "requests"), 0);
  EXPECT_EQ(daemon.stop(), 0);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return unix_http(socket(), "GET", "/healthz", "").status == 200; }, 20s));
  auto status = unix_http(socket(), "GET", "/v1/status", "");
  EXPECT_NE(status.body.find("\"paused\":true"), std::string::npos) << status.body;
  EXPECT_NE(read_file(daemon.log_file()).find("starting paused"), std::string::npos);
  EXPECT_EQ(ledger_count(emulator, "requests"), 0);
  EXPECT_EQ(unix_http(socket(), "POST", "/v1/resume", "").status, 200);
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 30s))
      << read_file(daemon.log_file());
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 5);
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(ControlSocket, SocketActivationServesTheSocketSystemdPassed) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);  // no control.socket in its configuration
  // systemd-socket-activate (from systemd) listens, then starts the daemon on the first
  // connection with LISTEN_FDS=1 and the listening socket as descriptor 3, as systemd does.
  ChildProcess activated({"/usr/bin/systemd-socket-activate", "-l", socket().string(),
                          (bin_dir() / "bytenite-submitd").string(), "--config", daemon.config_file().string()},
                         dir_ / "activated.log");
  ASSERT_TRUE(eventually([&] { return fs::exists(socket()); }, 10s));
  auto health = unix_http(socket(), "GET", "/healthz", "");
  EXPECT_EQ(health.status, 200) << health.failure << read_file(dir_ / "activated.log");
  auto posted = unix_http(socket(), "POST", "/v1/jobs", request_line(1) + "\n");
  EXPECT_EQ(posted.status, 202) << posted.body;
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 30s))
      << read_file(dir_ / "activated.log");
  EXPECT_NE(read_file(dir_ / "activated.log").find("(socket activation)"), std::string::npos);
  activated.signal(SIGTERM);
  EXPECT_EQ(activated.wait_exit(30s), 0);
}
