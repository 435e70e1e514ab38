// Role: job following end to end, driven by the emulator's job state machine: 2,000 followed
// jobs through API faults and a SIGKILL in the middle end with the right final state and
// results in their outcomes (jobs that complete, and jobs that fail with an error message),
// with the polling cost measured and bounded; abort of a queued request and of a running job
// (through the socket and the CLI); a job that outlives its jobTimeout is given up on.
#include <simdjson.h>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdio>

#include "harness.hpp"
#include "ledger.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

class Follow : public TempDirTest {
 protected:
  Follow() : TempDirTest("follow") {}
};

// request_line(n) with another template and, when given, another jobTimeout.
std::string request_with(int n, const std::string& template_id, int job_timeout_s = 0) {
  std::string line = request_line(n);
  line.replace(line.find("img-gen-diffusers"), 17, template_id);
  if (job_timeout_s > 0) line.replace(line.find("\"jobTimeout\":86400"), 18, fmt::format("\"jobTimeout\":{}", job_timeout_s));
  return line;
}

struct Outcome {
  std::string request_id, status, final_state, error_message, first_link;
  bool has_final = false, gave_up = false;
};

std::map<std::string, Outcome> outcomes_by_request(const DaemonUnderTest& d) {
  std::map<std::string, Outcome> out;
  simdjson::dom::parser parser;
  for (const auto& line : all_outcomes(d)) {
    simdjson::dom::element r;
    if (parser.parse(simdjson::padded_string(line)).get(r)) {
      ADD_FAILURE() << "not JSON: " << line;
      continue;
    }
    Outcome o;
    o.request_id = std::string(std::string_view(r["requestId"]));
    o.status = std::string(std::string_view(r["status"]));
    simdjson::dom::element f;
    if (!r["final"].get(f)) {
      o.has_final = f.is_object();
      std::string_view s;
      if (!f["state"].get(s)) o.final_state = s;
      if (!f["errorMessage"].get(s)) o.error_message = s;
      bool gave_up = false;
      if (!f["gaveUp"].get(gave_up)) o.gave_up = gave_up;
      simdjson::dom::array results;
      if (!f["results"].get(results) && results.size() > 0) {
        if (!results.at(0)["link"].get(s)) o.first_link = s;
      }
    }
    if (out.count(o.request_id)) ADD_FAILURE() << "two outcomes for " << o.request_id;
    out[o.request_id] = o;
  }
  return out;
}

}  // namespace

TEST_F(Follow, TwoThousandJobsEndWithTheirStateAndResultsAcrossAKill) {
  Emulator emulator(dir_ / "emulator", {"--fail-503", "0.05", "--reset-after", "0.02", "--job-duration-ms", "1500",
                                        "--seed", "7"});
  DaemonUnderTest daemon(dir_ / "daemon", emulator, "\n[follow]\nenabled = true\npoll_interval_s = 1\n"
                                                   "[metrics]\nlisten = \"127.0.0.1:0\"\n");
  constexpr int kFiles = 4, kLines = 500;
  for (int f = 0; f < kFiles; ++f) {
    std::string body;
    for (int l = 0; l < kLines; ++l) {
      const int n = f * kLines + l;
      // Every tenth job runs a template the emulator fails, with an error message.
      body += (n % 10 == 3 ? request_with(n, "fail-img-gen") : request_line(n)) + "\n";
    }
    daemon.drop(fmt::format("batch-{}.jsonl", f), body);
  }
  daemon.start();
  // Killed once at least one file has all its jobs run and waits, held, for their ends.
  auto held_files = [&] {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(daemon.spool() / "active")) n += e.path().filename().string().ends_with(".outcome.held");
    return n;
  };
  // (Under ASan beside other tests this takes over a minute; the state lasts while files are held.)
  ASSERT_TRUE(eventually([&] { return ledger_count(emulator, "totals.runs") >= 1200 && held_files() >= 1; }, 150s))
      << read_file(daemon.log_file());
  daemon.kill_hard();
  daemon.start();
  ASSERT_TRUE(eventually([&] { return read_file(daemon.log_file()).find("following the jobs of") != std::string::npos; }, 20s))
      << read_file(daemon.log_file());
  ASSERT_TRUE(eventually([&] {
    return daemon.count_files("done", ".outcome.jsonl") + daemon.count_files("failed", ".outcome.jsonl") == kFiles;
  }, 180s)) << read_file(daemon.log_file());
  auto outcomes = outcomes_by_request(daemon);
  ASSERT_EQ(outcomes.size(), static_cast<std::size_t>(kFiles * kLines));
  EXPECT_EQ(daemon.count_files("failed", ""), 0u);  // placement reflects submission: all submitted
  for (int n = 0; n < kFiles * kLines; ++n) {
    const Outcome& o = outcomes[fmt::format("it-{}", n)];
    ASSERT_EQ(o.status, "submitted") << n;
    ASSERT_TRUE(o.has_final) << n;
    if (n % 10 == 3) {
      EXPECT_EQ(o.final_state, "JOB_STATE_FAILED") << n;
      EXPECT_NE(o.error_message.find("emulated failure"), std::string::npos) << n;
    } else {
      EXPECT_EQ(o.final_state, "JOB_STATE_COMPLETE") << n;
      EXPECT_NE(o.first_link.find("/download/"), std::string::npos) << n;
    }
  }
  for (const auto& [id, job] : read_ledger(emulator)) EXPECT_TRUE(ran_once(job)) << id;
  EXPECT_EQ(daemon.stop(), 0);
}

// What following costs in API requests, with no faults (so every read in the ledger is one of
// following's: a first start sends no GET of its own): N jobs that run 3 s each, polled every
// second. The cost per followed job must not grow with N (list pages serve many jobs at once).
namespace {

// What following one batch of jobs cost in requests (no faults: every read is following's).
struct FollowingCost {
  int jobs = 0;
  double seconds = 0;
  std::int64_t lists = 0, gets = 0, results = 0;
  // List pages per followed job per round (a round a second): the figure that must not grow.
  double pages_per_job_round() const { return static_cast<double>(lists) / jobs / std::max(1.0, seconds); }
};

FollowingCost follow_batch(const fs::path& dir, int jobs) {
  FollowingCost cost;
  cost.jobs = jobs;
  Emulator emulator(dir / "emulator", {"--job-duration-ms", "3000"});
  DaemonUnderTest daemon(dir / "daemon", emulator,
                         "\n[follow]\nenabled = true\npoll_interval_s = 1\n[metrics]\nlisten = \"127.0.0.1:0\"\n");
  daemon.drop("batch.jsonl", request_lines(0, jobs));
  const auto started = std::chrono::steady_clock::now();
  daemon.start();
  EXPECT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 120s))
      << read_file(daemon.log_file());
  cost.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(daemon.metric("bytenite_submitd_jobs_followed"), 0);
  EXPECT_EQ(daemon.metric("bytenite_submitd_jobs_ended_total{state=\"complete\"}"), jobs);
  cost.lists = ledger_count(emulator, "totals.lists");
  cost.gets = ledger_count(emulator, "totals.gets");
  cost.results = ledger_count(emulator, "totals.results");
  std::printf("following %d jobs (3 s each, polled every 1 s) for %.1f s: %lld list pages, %lld job reads, "
              "%lld results reads; %.4f list pages per job per round\n",
              jobs, cost.seconds, static_cast<long long>(cost.lists), static_cast<long long>(cost.gets),
              static_cast<long long>(cost.results), cost.pages_per_job_round());
  EXPECT_EQ(daemon.stop(), 0);
  return cost;
}

}  // namespace

// The README's following cost: with every followed job in the account's list, a round reads
// the list (ceil(jobs / 100) pages), one results read per completed job, and the cost per job
// does not grow with the number of jobs. Jobs are read one at a time only in a round where
// that is cheaper than the rest of the list: when fewer than pages - 1 are still followed
// (stragglers at the end, when a loaded machine submitted the batch over a longer time).
TEST_F(Follow, PollingCostPerJobStaysBoundedAsJobsGrow) {
  const FollowingCost small = follow_batch(dir_ / "200", 200);
  const FollowingCost large = follow_batch(dir_ / "2000", 2000);
  for (const auto& cost : {small, large}) {
    EXPECT_EQ(cost.results, cost.jobs);
    const std::int64_t pages = (cost.jobs + 99) / 100;
    const auto rounds = static_cast<std::int64_t>(cost.seconds + 2);
    EXPECT_LE(cost.gets, rounds * std::max<std::int64_t>(0, pages - 2)) << cost.jobs;
    EXPECT_GE(cost.lists, pages) << cost.jobs;  // at least one whole pass
    EXPECT_LE(cost.lists, static_cast<std::int64_t>((cost.seconds + 2) * pages)) << cost.jobs;
  }
  EXPECT_LE(large.pages_per_job_round(), 2 * small.pages_per_job_round());
}

TEST_F(Follow, MoreJobsThanMaxFollowedWaitInTheJournalAndAllEnd) {
  // 300 jobs, 40 followed at a time: the rest wait in the journal and are taken in as
  // others end; every one still ends with its final state.
  Emulator emulator(dir_ / "emulator", {"--job-duration-ms", "500"});
  DaemonUnderTest daemon(dir_ / "daemon", emulator,
                         "\n[follow]\nenabled = true\npoll_interval_s = 1\nmax_followed = 40\n"
                         "[metrics]\nlisten = \"127.0.0.1:0\"\n");
  std::string body = request_lines(0, 300);
  daemon.drop("many.jsonl", body);
  daemon.start();
  double most_followed = 0;
  ASSERT_TRUE(eventually([&] {
    most_followed = std::max(most_followed, daemon.metric("bytenite_submitd_jobs_followed"));
    return daemon.count_files("done", ".outcome.jsonl") == 1;
  }, 120s)) << read_file(daemon.log_file());
  EXPECT_LE(most_followed, 40);
  auto outcomes = outcomes_by_request(daemon);
  ASSERT_EQ(outcomes.size(), 300u);
  for (const auto& [id, o] : outcomes) EXPECT_EQ(o.final_state, "JOB_STATE_COMPLETE") << id;
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(Follow, AbortQueuedAndRunningJobsAndGiveUpOnOneThatOutlivesItsTimeout) {
  // Jobs run for 10 minutes: they end only when aborted or given up on.
  Emulator emulator(dir_ / "emulator", {"--job-duration-ms", "600000"});
  const fs::path socket = dir_ / "control.sock";
  DaemonUnderTest daemon(dir_ / "daemon", emulator,
                         "\n[follow]\nenabled = true\npoll_interval_s = 1\ngive_up_margin_s = 0\n"
                         "[control]\nsocket = \"" + socket.string() + "\"\n");
  daemon.start();
  ASSERT_TRUE(eventually([&] { return unix_http(socket, "GET", "/healthz", "").status == 200; }, 20s));
  ASSERT_EQ(unix_http(socket, "POST", "/v1/pause", "").status, 200);
  // 1: queued (aborted while paused); 2: running (aborted once run); 3: jobTimeout 2 s.
  auto posted = unix_http(socket, "POST", "/v1/jobs",
                          request_line(1) + "\n" + request_line(2) + "\n" + request_with(3, "img-gen-diffusers", 2) + "\n");
  ASSERT_EQ(posted.status, 202) << posted.body;
  ASSERT_TRUE(eventually([&] { return unix_http(socket, "GET", "/v1/jobs/it-1", "").status == 200; }, 20s));
  auto queued = unix_http(socket, "POST", "/v1/jobs/it-1/abort", "");
  EXPECT_EQ(queued.status, 202) << queued.body;
  EXPECT_EQ(unix_http(socket, "POST", "/v1/jobs/never-seen/abort", "").status, 404);
  ASSERT_EQ(unix_http(socket, "POST", "/v1/resume", "").status, 200);
  ASSERT_TRUE(eventually([&] { return ledger_count(emulator, "totals.runs") == 2; }, 20s))
      << read_file(daemon.log_file());
  ASSERT_TRUE(eventually([&] {
    return unix_http(socket, "GET", "/v1/jobs/it-2", "").body.find("\"state\":\"submitted\"") != std::string::npos;
  }, 20s));
  std::string cli_out;
  EXPECT_EQ(run_cli({"--socket", socket.string(), "abort", "it-2"}, dir_ / "cli-abort.out", cli_out), 0) << cli_out;
  EXPECT_NE(cli_out.find("abort"), std::string::npos) << cli_out;

  ASSERT_TRUE(eventually([&] { return daemon.count_files("failed", ".outcome.jsonl") == 1; }, 60s))
      << read_file(daemon.log_file());
  auto outcomes = outcomes_by_request(daemon);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes["it-1"].status, "failed");
  EXPECT_FALSE(outcomes["it-1"].has_final);
  EXPECT_EQ(outcomes["it-2"].status, "submitted");
  EXPECT_EQ(outcomes["it-2"].final_state, "JOB_STATE_ABORTED");
  EXPECT_EQ(outcomes["it-3"].status, "submitted");
  EXPECT_TRUE(outcomes["it-3"].gave_up);
  // Given up with the last state it was seen in (still running: partitioning or running).
  EXPECT_TRUE(outcomes["it-3"].final_state == "JOB_STATE_PARTITIONING" ||
              outcomes["it-3"].final_state == "JOB_STATE_RUNNING") << outcomes["it-3"].final_state;
  // The queued request never became a job; the running one was aborted once.
  auto ledger = read_ledger(emulator);
  EXPECT_EQ(ledger.size(), 2u);
  EXPECT_EQ(ledger_count(emulator, "totals.aborts"), 1);
  // Its end is kept for lookups; aborting it again is refused with the reason.
  auto looked_up = unix_http(socket, "GET", "/v1/jobs/it-2", "");
  EXPECT_NE(looked_up.body.find("JOB_STATE_ABORTED"), std::string::npos) << looked_up.body;
  EXPECT_EQ(unix_http(socket, "POST", "/v1/jobs/it-2/abort", "").status, 409);
  EXPECT_EQ(daemon.stop(), 0);
}

// Following turned off while a file waits, held, for its jobs: the next start places it at
// once, sending nothing again, with `final` on the line of the job that had ended (README).
TEST_F(Follow, TurnedOffWhileAFileWaitsPlacesItWithoutSendingAnythingAgain) {
  Emulator emulator(dir_ / "emulator", {"--job-duration-ms", "600000"});  // they end only when aborted
  const fs::path socket = dir_ / "control.sock";
  DaemonUnderTest daemon(dir_ / "daemon", emulator,
                         "\n[follow]\nenabled = true\npoll_interval_s = 1\n"
                         "[control]\nsocket = \"" + socket.string() + "\"\n");
  constexpr int kLines = 10;
  daemon.drop("batch.jsonl", request_lines(0, kLines));
  daemon.start();
  auto held = [&] { return daemon.count_files("active", ".outcome.held") == 1; };
  ASSERT_TRUE(eventually([&] { return ledger_count(emulator, "totals.runs") == kLines && held(); }, 30s))
      << read_file(daemon.log_file());
  ASSERT_EQ(unix_http(socket, "POST", "/v1/jobs/it-0/abort", "").status, 202);
  ASSERT_TRUE(eventually([&] {
    return unix_http(socket, "GET", "/v1/jobs/it-0", "").body.find("JOB_STATE_ABORTED") != std::string::npos;
  }, 20s)) << read_file(daemon.log_file());
  EXPECT_TRUE(held());  // nine jobs still run
  ASSERT_EQ(daemon.stop(), 0);

  std::string config = read_file(daemon.config_file());
  const std::string_view following_on = "enabled = true";
  const auto at = config.find(following_on);
  ASSERT_NE(at, std::string::npos) << config;
  config.replace(at, following_on.size(), "enabled = false");
  write_file(daemon.config_file(), config);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 20s))
      << read_file(daemon.log_file());
  auto outcomes = outcomes_by_request(daemon);
  ASSERT_EQ(outcomes.size(), static_cast<std::size_t>(kLines));
  for (const auto& [id, o] : outcomes) {
    EXPECT_EQ(o.status, "submitted") << id;
    EXPECT_EQ(o.has_final, id == "it-0") << id;
  }
  EXPECT_EQ(outcomes["it-0"].final_state, "JOB_STATE_ABORTED");
  auto looked_up = unix_http(socket, "GET", "/v1/jobs/it-0", "");
  EXPECT_NE(looked_up.body.find("JOB_STATE_ABORTED"), std::string::npos) << looked_up.body;
  auto ledger = read_ledger(emulator);
  EXPECT_EQ(ledger.size(), static_cast<std::size_t>(kLines));
  for (const auto& [id, job] : ledger) {
    EXPECT_EQ(job.creates, 1) << id;
    EXPECT_TRUE(ran_once(job)) << id;
  }
  EXPECT_EQ(daemon.stop(), 0);
}
