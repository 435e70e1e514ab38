// Role: end-to-end runs of the real daemon against the real emulator over verified TLS:
// requests dropped as .json and .jsonl files all become exactly one configured, running job
// (the emulator's ledger proves it), bad input gets actionable outcomes without stopping the
// rest, and the API key never leaks. (Crash recovery is journal_recovery_test.)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <simdjson.h>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>
#include <set>

#include "harness.hpp"
#include "ledger.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

class SubmitFlow : public TempDirTest {
 protected:
  SubmitFlow() : TempDirTest("it") {}
};

}  // namespace

TEST_F(SubmitFlow, ThousandRequestsAsJsonAndJsonlBecomeExactlyOneJobEach) {
  Emulator emulator(dir_ / "emulator", {"--job-duration-ms", "500"});
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  // 500 single-request files and 5 files of 100 lines: 1,000 requests.
  for (int i = 0; i < 500; ++i) daemon.drop(fmt::format("single-{:03}.json", i), request_line(i, i % 2 == 0));
  for (int f = 0; f < 5; ++f) {
    std::string body = request_lines(1000 + f * 100, 100);
    daemon.drop(fmt::format("batch-{}.jsonl", f), body);
  }
  daemon.start();
  // The outcome is placed before its input leaves active/ (README, step 5): wait for both.
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 505 &&
                                      fs::is_empty(daemon.spool() / "active"); }, 120s))
      << "done/ has " << daemon.count_files("done", ".outcome.jsonl") << " outcome files; log:\n"
      << read_file(daemon.log_file());
  EXPECT_EQ(daemon.count_files("failed", ""), 0u);
  EXPECT_TRUE(fs::is_empty(daemon.spool() / "incoming"));
  EXPECT_EQ(daemon.count_files("done", "") - daemon.count_files("done", ".outcome.jsonl"), 505u);  // the inputs

  auto outcomes = all_outcomes(daemon);
  ASSERT_EQ(outcomes.size(), 1000u);
  std::set<std::string> job_ids, request_ids;
  simdjson::dom::parser parser;
  for (const auto& line : outcomes) {
    simdjson::dom::element rec;
    ASSERT_FALSE(parser.parse(simdjson::padded_string(line)).get(rec)) << line;
    EXPECT_EQ(std::string_view(rec["status"]), "submitted") << line;
    job_ids.insert(std::string(std::string_view(rec["jobId"])));
    request_ids.insert(std::string(std::string_view(rec["requestId"])));
  }
  EXPECT_EQ(job_ids.size(), 1000u);
  EXPECT_EQ(request_ids.size(), 1000u);

  auto ledger = read_ledger(emulator);
  ASSERT_EQ(ledger.size(), 1000u);
  for (const auto& [id, job] : ledger) {
    EXPECT_TRUE(job_ids.count(id)) << "the emulator has a job no outcome names: " << id;
    EXPECT_EQ(job.creates, 1) << id;
    EXPECT_TRUE(ran_once(job)) << id;
    EXPECT_TRUE(job.data_source_set) << id;
  }
  // Outcome files keep input order.
  auto batch = read_lines(daemon.spool() / "done" / "batch-2.jsonl.outcome.jsonl");
  ASSERT_EQ(batch.size(), 100u);
  for (int l = 0; l < 100; ++l) {
    simdjson::dom::element rec;
    ASSERT_FALSE(parser.parse(simdjson::padded_string(batch[static_cast<std::size_t>(l)])).get(rec));
    EXPECT_EQ(int64_t(rec["line"]), l + 1);
    EXPECT_EQ(std::string_view(rec["requestId"]), fmt::format("it-{}", 1200 + l));
  }
  EXPECT_EQ(daemon.stop(), 0);
  // The key must not appear in anything the daemon wrote.
  EXPECT_EQ(read_file(daemon.log_file()).find(DaemonUnderTest::kApiKey), std::string::npos);
  for (const auto& line : outcomes) EXPECT_EQ(line.find(DaemonUnderTest::kApiKey), std::string::npos);
}

// Interim 1xx answers before a third of the API's answers: every request still becomes one
// job with one run, and nothing is confused with another call's answer.
TEST_F(SubmitFlow, InterimAnswersFromTheApiChangeNothing) {
  Emulator emulator(dir_ / "emulator", {"--interim-103", "0.3", "--seed", "7"});
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  daemon.drop("interim.jsonl", request_lines(1, 300));
  daemon.start();
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 60s))
      << read_file(daemon.log_file());
  auto outcomes = all_outcomes(daemon);
  ASSERT_EQ(outcomes.size(), 300u);
  for (const auto& line : outcomes) EXPECT_NE(line.find("\"status\":\"submitted\""), std::string::npos) << line;
  auto ledger = read_ledger(emulator);
  ASSERT_EQ(ledger.size(), 300u);
  for (const auto& [id, job] : ledger) {
    EXPECT_EQ(job.creates, 1) << id;
    EXPECT_TRUE(ran_once(job)) << id;
    EXPECT_TRUE(job.data_source_set) << id;
  }
  EXPECT_GT(ledger_count(emulator, "faults.interim103"), 200);  // of at least 1,201 answers
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(SubmitFlow, BadInputGetsActionableOutcomesAndStopsNothing) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  std::string mixed = request_line(1) + "\n" +
                      "{\"templateId\": \"img\", broken\n" +
                      "\n" +
                      R"({"name":"no template"})" + "\n" +
                      R"({"requestId":"denied-1","templateId":"denied-template"})" + "\n" +
                      request_line(2) + "\n";
  daemon.drop("mixed.jsonl", mixed);
  daemon.drop("notes.txt", "hello");
  daemon.drop("empty.json", "");
  fs::create_directories(dir_ / "elsewhere");
  write_file(dir_ / "elsewhere" / "secret.json", request_line(9));
  fs::create_symlink(dir_ / "elsewhere" / "secret.json", daemon.spool() / "incoming" / "link.json");
  daemon.start();
  ASSERT_TRUE(eventually([&] { return daemon.count_files("failed", ".outcome.jsonl") == 4; }, 60s))
      << read_file(daemon.log_file());

  auto outcome = read_lines(daemon.spool() / "failed" / "mixed.jsonl.outcome.jsonl");
  ASSERT_EQ(outcome.size(), 5u);  // the blank line 3 is not a request
  simdjson::dom::parser parser;
  std::vector<std::tuple<int64_t, std::string, std::string>> seen;
  for (const auto& l : outcome) {
    simdjson::dom::element r;
    ASSERT_FALSE(parser.parse(simdjson::padded_string(l)).get(r));
    std::string stage;
    if (!r["error"].error()) stage = std::string(std::string_view(r["error"]["stage"]));
    seen.emplace_back(int64_t(r["line"]), std::string(std::string_view(r["status"])), stage);
  }
  EXPECT_EQ(seen[0], std::make_tuple(int64_t{1}, std::string("submitted"), std::string()));
  EXPECT_EQ(seen[1], std::make_tuple(int64_t{2}, std::string("failed"), std::string("validate")));
  EXPECT_EQ(seen[2], std::make_tuple(int64_t{4}, std::string("failed"), std::string("validate")));
  EXPECT_EQ(seen[3], std::make_tuple(int64_t{5}, std::string("failed"), std::string("create")));
  EXPECT_EQ(seen[4], std::make_tuple(int64_t{6}, std::string("submitted"), std::string()));
  EXPECT_NE(outcome[2].find("templateId"), std::string::npos) << outcome[2];
  EXPECT_NE(outcome[3].find("\"httpStatus\":403"), std::string::npos) << outcome[3];

  // The retry file holds exactly the failed requests, as given.
  auto retry = read_lines(daemon.spool() / "failed" / "mixed.retry.jsonl");
  ASSERT_EQ(retry.size(), 3u);
  EXPECT_EQ(retry[1], R"({"name":"no template"})");

  for (const char* name : {"notes.txt", "empty.json", "link.json"}) {
    auto lines = read_lines(daemon.spool() / "failed" / (std::string(name) + ".outcome.jsonl"));
    ASSERT_EQ(lines.size(), 1u) << name;
    EXPECT_NE(lines[0].find("\"line\":"), std::string::npos);
    EXPECT_NE(lines[0].find("\"status\":\"failed\""), std::string::npos) << lines[0];
  }
  EXPECT_TRUE(fs::is_symlink(daemon.spool() / "failed" / "link.json"));  // moved, never followed
  // Nothing in those three can be retried as written: no retry files for them.
  for (const char* stem : {"notes", "empty", "link"}) {
    EXPECT_FALSE(fs::exists(daemon.spool() / "failed" / (std::string(stem) + ".retry.jsonl"))) << stem;
  }

  auto ledger = read_ledger(emulator);
  EXPECT_EQ(ledger.size(), 2u);  // only the two good requests (the denied one was refused)
  EXPECT_EQ(daemon.stop(), 0);
}

namespace {

// Runs a second daemon with `config` beside the running `daemon`: it must exit 1 naming the
// reason. `config` differs from the first one's in what the test varies (e.g. the state dir).
void expect_second_daemon_refused(DaemonUnderTest& daemon, const fs::path& config, const fs::path& log) {
  ASSERT_TRUE(eventually([&] { return read_file(daemon.log_file()).find("watching") != std::string::npos; }, 10s));
  ChildProcess second({(bin_dir() / "bytenite-submitd").string(), "--config", config.string()}, log);
  EXPECT_EQ(second.wait_exit(10s), 1);
  EXPECT_NE(read_file(log).find("already running on this spool"), std::string::npos) << read_file(log);
  EXPECT_EQ(daemon.stop(), 0);
}

}  // namespace

TEST_F(SubmitFlow, SecondDaemonOnTheSameSpoolRefusesToStart) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return fs::exists(daemon.spool() / "state" / "lock"); }, 10s));
  expect_second_daemon_refused(daemon, daemon.config_file(), dir_ / "second.log");
}

// Another state directory does not make another spool: the spool itself is locked too (two
// daemons resuming the same active/ files under two namespaces made 532 jobs of 300 requests).
TEST_F(SubmitFlow, SecondDaemonWithItsOwnStateDirectoryOnTheSameSpoolRefusesToStart) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  daemon.start();
  const fs::path second_config = dir_ / "second.toml";
  write_file(second_config, read_file(daemon.config_file()) + "\n[state]\ndir = \"" + (dir_ / "state2").string() + "\"\n");
  expect_second_daemon_refused(daemon, second_config, dir_ / "second.log");
}

// A file name is text from outside: logged, it must not forge a line (journald would take
// "<2>FORGED" as a critical message from the daemon).
TEST_F(SubmitFlow, AFileNameCannotForgeALogLine) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  daemon.drop("a\n<2>FORGED.json", request_line(1));
  daemon.start();
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 30s))
      << read_file(daemon.log_file());
  EXPECT_EQ(daemon.stop(), 0);
  const std::string log = read_file(daemon.log_file());
  EXPECT_EQ(log.find("\n<2>FORGED"), std::string::npos) << log;
  EXPECT_NE(log.find("a\\x0a<2>FORGED.json"), std::string::npos) << log;
}

// Idle TCP connections to the metrics port (a port scan, a stuck client) held the exporter's
// two threads for 30 s each: eight of them made a scrape fail. They are timed out now, and a
// scrape is served while they sit there.
TEST_F(SubmitFlow, IdleConnectionsDoNotStallTheMetricsPort) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator, "\n[metrics]\nlisten = \"127.0.0.1:0\"\n");
  daemon.start();
  ASSERT_TRUE(eventually([&] { return daemon.metrics_port().has_value(); }, 10s)) << read_file(daemon.log_file());
  const std::uint16_t port = *daemon.metrics_port();
  auto connect_local = [&] {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    return fd;
  };
  std::vector<int> idle;
  for (int i = 0; i < 8; ++i) idle.push_back(connect_local());
  // The scrape, with a bound on the wait so a stalled exporter fails the test, not the run.
  int fd = connect_local();
  timeval limit{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string answer;
  char buf[8192];
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  for (int c : idle) ::close(c);
  EXPECT_NE(answer.find("bytenite_submitd_jobs_accepted_total"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << answer;
  // The port also answers /healthz as the control socket does; anything else is 404.
  auto health = http_get_local_answer(port, "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "{\"ok\":true}");
  EXPECT_EQ(http_get_local_answer(port, "/nothing").status, 404);
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(SubmitFlow, MetricsCountWhatHappenedAndHoldNoSecrets) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator, "\n[metrics]\nlisten = \"127.0.0.1:0\"\n");
  daemon.drop("three.jsonl", request_line(1) + "\n" + request_line(2) + "\n" + R"({"templateId":"denied-x"})" + "\n");
  daemon.start();
  ASSERT_TRUE(eventually([&] { return daemon.count_files("failed", ".outcome.jsonl") == 1; }, 30s))
      << read_file(daemon.log_file());
  // The daemon logs the port it bound ("metrics on http://127.0.0.1:PORT/metrics").
  auto port = daemon.metrics_port();
  ASSERT_TRUE(port) << read_file(daemon.log_file());
  std::string metrics = http_get_local(*port, "/metrics");
  auto has = [&](const std::string& line) { return metrics.find("\n" + line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("bytenite_submitd_jobs_accepted_total 3")) << metrics;
  EXPECT_TRUE(has("bytenite_submitd_jobs_submitted_total 2"));
  EXPECT_TRUE(has("bytenite_submitd_jobs_failed_total{stage=\"create\"} 1"));
  EXPECT_TRUE(has("bytenite_submitd_jobs_failed_total{stage=\"params\"} 0"));  // exists before any failure
  EXPECT_TRUE(has("bytenite_submitd_http_requests_total{code=\"200\",endpoint=\"run\"} 2"));
  EXPECT_TRUE(has("bytenite_submitd_http_requests_total{code=\"403\",endpoint=\"create\"} 1"));
  EXPECT_TRUE(has("bytenite_submitd_token_refreshes_total 1"));
  const auto build_info = metrics.find("\nbytenite_submitd_build_info{revision=\"");
  ASSERT_NE(build_info, std::string::npos) << metrics;
  const auto build_info_end = metrics.find('\n', build_info + 1);
  EXPECT_TRUE(metrics.substr(build_info, build_info_end - build_info).ends_with("\",version=\"" SUBMITD_VERSION_FOR_TESTS "\"} 1"))
      << metrics.substr(build_info, build_info_end - build_info);
  EXPECT_EQ(metrics.find(DaemonUnderTest::kApiKey), std::string::npos);
  // Prometheus' own linter accepts the live scrape (names, units, types, help texts).
  write_file(dir_ / "scrape.txt", metrics);
  std::string lint_command = "promtool check metrics < " + (dir_ / "scrape.txt").string() + " 2>&1";
  std::FILE* lint = ::popen(lint_command.c_str(), "r");
  ASSERT_NE(lint, nullptr);
  std::string lint_output;
  char buf[512];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, lint)) lint_output.append(buf, n);
  int lint_status = ::pclose(lint);
  EXPECT_EQ(lint_status, 0) << "promtool check metrics (from the Debian package prometheus) said:\n" << lint_output;
  EXPECT_EQ(lint_output, "");
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(SubmitFlow, OldFilesInDoneArePrunedAtStart) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator, "\n[spool]\ndir = \"" + (dir_ / "daemon" / "spool").string() +
                                                        "\"\ndone_retention_days = 7\n");
  fs::create_directories(daemon.spool() / "done");
  write_file(daemon.spool() / "done" / "ancient.json", "{}");
  fs::last_write_time(daemon.spool() / "done" / "ancient.json", fs::file_time_type::clock::now() - std::chrono::hours(24 * 8));
  write_file(daemon.spool() / "done" / "recent.json", "{}");
  daemon.start();
  ASSERT_TRUE(eventually([&] { return !fs::exists(daemon.spool() / "done" / "ancient.json"); }, 20s))
      << read_file(daemon.log_file());
  EXPECT_TRUE(fs::exists(daemon.spool() / "done" / "recent.json"));
  EXPECT_EQ(daemon.stop(), 0);
}
