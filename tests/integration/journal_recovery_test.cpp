// Role: the journal end to end, with the real daemon and emulator: a requestId accepted once
// is reported as a duplicate (naming the earlier job) in later files and within a file; a
// request that failed before it could run releases its requestId; a killed daemon resumes
// from the journal, reading only the jobs whose fate it did not record; and the crash test:
// 5,000 requests under faults with the daemon SIGKILLed at random moments still give exactly
// one outcome per request and one job with one run per request. The journal is compacted.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fmt/format.h>

#include <random>
#include <set>
#include <thread>

#include "harness.hpp"
#include "journal/journal_store.hpp"
#include "ledger.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

class JournalRecovery : public TempDirTest {
 protected:
  JournalRecovery() : TempDirTest("journal") {}
};

struct Outcome {
  std::int64_t line = 0;
  std::string request_id, job_id, status;
};

std::vector<Outcome> parse_outcomes(const std::vector<std::string>& lines) {
  std::vector<Outcome> out;
  simdjson::dom::parser parser;
  for (const auto& l : lines) {
    simdjson::dom::element r;
    if (parser.parse(simdjson::padded_string(l)).get(r)) {
      ADD_FAILURE() << "not JSON: " << l;
      continue;
    }
    Outcome o;
    o.line = int64_t(r["line"]);
    o.request_id = std::string(std::string_view(r["requestId"]));
    if (r["jobId"].is_string()) o.job_id = std::string(std::string_view(r["jobId"]));
    o.status = std::string(std::string_view(r["status"]));
    out.push_back(std::move(o));
  }
  return out;
}

std::size_t journal_rows(const DaemonUnderTest& d) {
  submitd::journal::JournalStore::Options o;
  o.file = d.spool() / "state" / "journal.sqlite";
  o.read_only = true;
  submitd::journal::JournalStore store(o);
  return store.request_rows();
}

}  // namespace

TEST_F(JournalRecovery, RequestIdAcceptedBeforeIsADuplicateNamingTheEarlierJob) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  daemon.start();
  std::string first;
  for (int i = 0; i < 10; ++i) first += request_line(i) + "\n";
  daemon.drop("first.jsonl", first);
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 30s))
      << read_file(daemon.log_file());
  auto earlier = parse_outcomes(read_lines(daemon.spool() / "done" / "first.jsonl.outcome.jsonl"));
  ASSERT_EQ(earlier.size(), 10u);

  // Again: 10 known requestIds, 2 new ones, and a new one repeated within the file.
  std::string second;
  for (int i = 0; i < 12; ++i) second += request_line(i) + "\n";
  second += request_line(11) + "\n";
  daemon.drop("second.jsonl", second);
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 2; }, 30s))
      << read_file(daemon.log_file());
  auto again = parse_outcomes(read_lines(daemon.spool() / "done" / "second.jsonl.outcome.jsonl"));
  ASSERT_EQ(again.size(), 13u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(again[static_cast<std::size_t>(i)].status, "duplicate") << i;
    EXPECT_EQ(again[static_cast<std::size_t>(i)].job_id, earlier[static_cast<std::size_t>(i)].job_id) << i;
  }
  EXPECT_EQ(again[10].status, "submitted");
  EXPECT_EQ(again[11].status, "submitted");
  EXPECT_EQ(again[12].status, "duplicate");
  EXPECT_EQ(again[12].job_id, again[11].job_id);
  EXPECT_EQ(ledger_count(emulator, "totals.jobs"), 12);
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 12);
  EXPECT_EQ(daemon.stop(), 0);
  EXPECT_EQ(journal_rows(daemon), 0u);  // placed files are forgotten
}

TEST_F(JournalRecovery, RequestThatFailedBeforeRunningCanBeFixedAndDroppedAgain) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  daemon.start();
  daemon.drop("bad.json", R"({"requestId":"fix-me-1","templateId":"denied-template"})");
  ASSERT_TRUE(eventually([&] { return daemon.count_files("failed", ".outcome.jsonl") == 1; }, 30s));
  daemon.drop("fixed.json", R"({"requestId":"fix-me-1","templateId":"img-gen-diffusers"})");
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 30s))
      << read_file(daemon.log_file());
  auto fixed = parse_outcomes(read_lines(daemon.spool() / "done" / "fixed.json.outcome.jsonl"));
  ASSERT_EQ(fixed.size(), 1u);
  EXPECT_EQ(fixed[0].status, "submitted");
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 1);
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(JournalRecovery, KilledDaemonReadsOnlyTheJobsWhoseFateItDidNotRecord) {
  Emulator emulator(dir_ / "emulator", {"--latency-ms", "20"});
  DaemonUnderTest daemon(dir_ / "daemon", emulator, "connections = 4\nmax_inflight = 16\n");
  std::string body = request_lines(0, 400);
  daemon.drop("big.jsonl", body);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return ledger_count(emulator, "totals.runs") >= 150; }, 60s));
  daemon.kill_hard();
  auto runs_at_kill = ledger_count(emulator, "totals.runs");
  auto gets_at_kill = ledger_count(emulator, "totals.gets");
  // -1 is "no answer from the emulator": it must fail here, not pass the bound below.
  ASSERT_GE(runs_at_kill, 150);
  ASSERT_GE(gets_at_kill, 0);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 120s))
      << read_file(daemon.log_file());
  EXPECT_NE(read_file(daemon.log_file()).find("resuming interrupted file big.jsonl"), std::string::npos);
  auto outcome = parse_outcomes(read_lines(daemon.spool() / "done" / "big.jsonl.outcome.jsonl"));
  ASSERT_EQ(outcome.size(), 400u);
  for (std::size_t i = 0; i < outcome.size(); ++i) {
    EXPECT_EQ(outcome[i].line, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(outcome[i].status, "submitted") << i;
  }
  auto ledger = read_ledger(emulator);
  ASSERT_EQ(ledger.size(), 400u);
  for (const auto& [id, job] : ledger) EXPECT_TRUE(ran_once(job)) << id;
  // Without the journal the restart would read every one of the 400 jobs. With it, only the
  // requests accepted and unfinished at the kill (at most 4 x max_inflight = 64) plus the
  // finishes still in the journal's last group-commit window.
  const auto gets_total = ledger_count(emulator, "totals.gets");
  ASSERT_GE(gets_total, gets_at_kill);
  auto gets_after = gets_total - gets_at_kill;
  std::fprintf(stderr, "killed after %lld runs; the restart read %lld jobs\n",
               static_cast<long long>(runs_at_kill), static_cast<long long>(gets_after));
  EXPECT_LE(gets_after, 100);
  EXPECT_EQ(daemon.stop(), 0);
  EXPECT_EQ(journal_rows(daemon), 0u);
}

TEST_F(JournalRecovery, NewDropIsNotQueuedBehindABacklog) {
  // Two files worked at a time, slow answers: a backlog of 10 files takes several seconds.
  Emulator emulator(dir_ / "emulator", {"--latency-ms", "30"});
  DaemonUnderTest daemon(dir_ / "daemon", emulator, "connections = 4\nmax_inflight = 8\n"
                         "[spool]\ndir = \"" + (dir_ / "daemon" / "spool").string() + "\"\n"
                         "rescan_interval_ms = 250\nmax_active_files = 2\n"
                         "[metrics]\nlisten = \"127.0.0.1:0\"\n");
  for (int f = 0; f < 10; ++f) {
    std::string body = request_lines(f * 25, 25);
    daemon.drop(fmt::format("backlog-{:02}.jsonl", f), body);
  }
  auto dropped = std::chrono::steady_clock::now();
  daemon.start();
  // The backlog shows in the metrics: files waiting (incoming + active) and their age.
  ASSERT_TRUE(eventually([&] { return daemon.metric("bytenite_submitd_spool_backlog_files") >= 8; }, 30s));
  ASSERT_TRUE(eventually([&] { return daemon.metric("bytenite_submitd_oldest_waiting_request_age_seconds") >= 0.5; }, 30s));
  double age = daemon.metric("bytenite_submitd_oldest_waiting_request_age_seconds");
  EXPECT_LE(age, std::chrono::duration<double>(std::chrono::steady_clock::now() - dropped).count() + 2);
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") >= 1; }, 60s));
  daemon.drop("urgent.json", request_line(9999));
  ASSERT_TRUE(eventually([&] { return fs::exists(daemon.spool() / "done" / "urgent.json.outcome.jsonl"); }, 60s))
      << read_file(daemon.log_file());
  // Counted right after the new file is done: the backlog is far from drained.
  std::size_t backlog_done = daemon.count_files("done", ".outcome.jsonl") - 1;
  std::fprintf(stderr, "the new drop finished when %zu of 10 backlog files were done\n", backlog_done);
  EXPECT_LE(backlog_done, 6u);  // first come, first served would make it 10
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 11; }, 120s));
  // Drained: the figures come back to zero (the next scan of an empty spool).
  EXPECT_TRUE(eventually([&] { return daemon.metric("bytenite_submitd_spool_backlog_files") == 0; }, 10s));
  EXPECT_EQ(daemon.stop(), 0);
}

// One-request files placed in group commits by the Placer thread, killed again and again
// mid-burst: every drop still ends as exactly one outcome file (never a second one placed
// beside it) and one job with one run.
TEST_F(JournalRecovery, ABurstOfOneRequestDropsSurvivesRepeatedSigkill) {
  Emulator emulator(dir_ / "emulator", {"--fail-503", "0.03", "--latency-ms", "2", "--seed", "7"});
  DaemonUnderTest daemon(dir_ / "daemon", emulator, "connections = 16\nmax_inflight = 128\n");
  constexpr int kDrops = 1500;
  for (int i = 0; i < kDrops; ++i) daemon.drop(fmt::format("one-{:04}.json", i), request_line(i));
  std::mt19937 rng(20261205);
  std::uniform_int_distribution<int> pause_ms(100, 600);
  int kills = 0;
  daemon.start();
  while (kills < 5 && daemon.count_files("done", ".outcome.jsonl") < static_cast<std::size_t>(kDrops)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    daemon.kill_hard();
    ++kills;
    daemon.start();
  }
  ASSERT_GE(kills, 3) << "the run finished before three kills; make it longer";
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") >= kDrops &&
                                      fs::is_empty(daemon.spool() / "active"); }, 240s))
      << "done: " << daemon.count_files("done", ".outcome.jsonl") << read_file(daemon.log_file());
  EXPECT_EQ(daemon.count_files("done", ".outcome.jsonl"), static_cast<std::size_t>(kDrops));
  EXPECT_EQ(daemon.count_files("done", ".json"), static_cast<std::size_t>(kDrops));  // the inputs
  EXPECT_EQ(daemon.count_files("failed", ""), 0u);
  auto outcomes = parse_outcomes(all_outcomes(daemon));
  ASSERT_EQ(outcomes.size(), static_cast<std::size_t>(kDrops));
  std::set<std::string> request_ids, job_ids;
  for (const auto& o : outcomes) {
    EXPECT_TRUE(request_ids.insert(o.request_id).second) << "two outcomes for " << o.request_id;
    EXPECT_EQ(o.status, "submitted") << o.request_id;
    job_ids.insert(o.job_id);
  }
  auto ledger = read_ledger(emulator);
  ASSERT_EQ(ledger.size(), static_cast<std::size_t>(kDrops));
  for (const auto& [id, job] : ledger) {
    EXPECT_TRUE(job_ids.count(id)) << "a job no outcome names: " << id;
    EXPECT_TRUE(ran_once(job)) << id;
  }
  EXPECT_EQ(daemon.stop(), 0);
  EXPECT_EQ(journal_rows(daemon), 0u);
}

TEST_F(JournalRecovery, FiveThousandRequestsSurviveRepeatedSigkillUnderFaults) {
  // Faults on: 5% 503s, 3% 429s, 2% resets after the work, 1% before it; tokens live 5 s.
  Emulator emulator(dir_ / "emulator", {"--fail-503", "0.05", "--fail-429", "0.03", "--retry-after-s", "1",
                                        "--reset-after", "0.02", "--reset-before", "0.01",
                                        "--token-lifetime-s", "5", "--latency-ms", "2", "--seed", "5"});
  // Random 429s with Retry-After hold the whole account under the adaptive rate (by design);
  // this test is about crashes under faults, so the rate is fixed.
  DaemonUnderTest daemon(dir_ / "daemon", emulator, "connections = 16\nmax_inflight = 128\nadaptive = false\n");
  constexpr int kFiles = 10, kLines = 500;
  std::set<std::string> request_ids;
  for (int f = 0; f < kFiles; ++f) {
    std::string body;
    for (int l = 0; l < kLines; ++l) {
      body += request_line(f * kLines + l) + "\n";
      request_ids.insert(fmt::format("it-{}", f * kLines + l));
    }
    daemon.drop(fmt::format("crash-{:02}.jsonl", f), body);
  }
  std::mt19937 rng(20261128);
  std::uniform_int_distribution<int> pause_ms(150, 1200);
  int kills = 0;
  daemon.start();
  while (kills < 6 && daemon.count_files("done", ".outcome.jsonl") + daemon.count_files("failed", ".outcome.jsonl") <
                          static_cast<std::size_t>(kFiles)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    daemon.kill_hard();
    ++kills;
    daemon.start();
  }
  ASSERT_GE(kills, 5) << "the run finished before five kills; make it longer";
  // Each restart found interrupted work: the kills really landed mid-flight.
  auto log = read_file(daemon.log_file());
  std::size_t restarts_with_work = 0;
  const std::string start_line = "bytenite-submitd " SUBMITD_VERSION_FOR_TESTS " watching";
  for (std::size_t at = 0; (at = log.find(start_line, at)) != std::string::npos; ++at) {
    auto next = log.find("resuming interrupted file", at);
    auto next_start = log.find(start_line, at + 1);
    if (next != std::string::npos && (next_start == std::string::npos || next < next_start)) ++restarts_with_work;
  }
  EXPECT_GE(restarts_with_work, 5u);
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == kFiles; }, 240s))
      << "done: " << daemon.count_files("done", ".outcome.jsonl")
      << " failed: " << daemon.count_files("failed", ".outcome.jsonl");

  auto outcomes = parse_outcomes(all_outcomes(daemon));
  ASSERT_EQ(outcomes.size(), 5000u);
  std::set<std::string> seen, job_ids;
  for (const auto& o : outcomes) {
    EXPECT_TRUE(seen.insert(o.request_id).second) << "two outcomes for " << o.request_id;
    EXPECT_EQ(o.status, "submitted") << o.request_id;
    job_ids.insert(o.job_id);
  }
  EXPECT_EQ(seen, request_ids);
  EXPECT_EQ(job_ids.size(), 5000u);
  auto ledger = read_ledger(emulator);
  ASSERT_EQ(ledger.size(), 5000u);
  for (const auto& [id, job] : ledger) {
    EXPECT_TRUE(job_ids.count(id)) << "a job no outcome names: " << id;
    EXPECT_TRUE(ran_once(job)) << id;
    EXPECT_TRUE(job.data_source_set && job.params_set) << id;
  }
  EXPECT_EQ(daemon.stop(), 0);
  EXPECT_EQ(journal_rows(daemon), 0u);
  std::fprintf(stderr, "5000 requests, %d SIGKILLs, exactly one job and one run each\n", kills);
}

// A journal that exists but knows nothing (emptied, its WAL lost, restored without -wal) is
// no journal: the requests of a file in active/ read their jobs before sending anything.
// Before, it passed for a journal that had seen none of them: every job that had run was
// created again, refused as started, and recorded failed with its requestId released.
TEST_F(JournalRecovery, EmptiedJournalMakesRecoveredRequestsReadTheirJobsFirst) {
  Emulator emulator(dir_ / "emulator", {"--job-duration-ms", "600000"});  // still running later
  DaemonUnderTest daemon(dir_ / "daemon", emulator, "\n[follow]\nenabled = true\npoll_interval_s = 1\n");
  constexpr int kLines = 10;
  daemon.drop("batch.jsonl", request_lines(0, kLines));
  daemon.start();
  // Following holds the file in active/ once its jobs run: a file interrupted after its runs.
  ASSERT_TRUE(eventually([&] {
    return ledger_count(emulator, "totals.runs") == kLines && daemon.count_files("active", ".outcome.held") == 1;
  }, 30s)) << read_file(daemon.log_file());
  ASSERT_EQ(daemon.stop(), 0);
  for (const auto& e : fs::directory_iterator(daemon.spool() / "active")) {
    if (e.path().filename().string().ends_with(".held")) fs::remove(e.path());
  }
  const fs::path journal = daemon.spool() / "state" / "journal.sqlite";
  fs::resize_file(journal, 0);
  fs::remove(journal.string() + "-wal");
  fs::remove(journal.string() + "-shm");
  std::string config = read_file(daemon.config_file());
  config.replace(config.find("enabled = true"), 14, "enabled = false");
  write_file(daemon.config_file(), config);

  daemon.start();
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 30s))
      << read_file(daemon.log_file());
  auto outcomes = parse_outcomes(read_lines(daemon.spool() / "done" / "batch.jsonl.outcome.jsonl"));
  ASSERT_EQ(outcomes.size(), static_cast<std::size_t>(kLines));
  for (const auto& o : outcomes) EXPECT_EQ(o.status, "submitted") << o.request_id;
  auto ledger = read_ledger(emulator);
  ASSERT_EQ(ledger.size(), static_cast<std::size_t>(kLines));
  for (const auto& [id, job] : ledger) {
    EXPECT_EQ(job.creates, 1) << id;
    EXPECT_TRUE(ran_once(job)) << id;
  }
  EXPECT_EQ(daemon.stop(), 0);
}

// A journal that is not a database at all is refused at start, naming the file.
TEST_F(JournalRecovery, UnreadableJournalIsRefusedNamingTheFile) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  fs::create_directories(daemon.spool() / "state");
  const fs::path journal = daemon.spool() / "state" / "journal.sqlite";
  write_file(journal, std::string(4096, 'x'));
  daemon.start();
  ASSERT_TRUE(daemon.process());
  EXPECT_EQ(daemon.process()->wait_exit(20s), 1) << read_file(daemon.log_file());
  const std::string log = read_file(daemon.log_file());
  EXPECT_NE(log.find("the journal " + journal.string() + " cannot be read"), std::string::npos) << log;
  EXPECT_EQ(ledger_count(emulator, "totals.jobs"), 0);
}

// The namespace is what every jobId of a claimed file derives from: while active/ holds such a
// file, a missing namespace-uuid is not made anew (drafts orphaned, runs sent twice).
TEST_F(JournalRecovery, MissingNamespaceWithClaimedFilesIsRefused) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  fs::create_directories(daemon.spool() / "active");
  write_file(daemon.spool() / "active" / "0123456789abcdef.left.jsonl", request_lines(0, 3));
  daemon.start();
  ASSERT_TRUE(daemon.process());
  EXPECT_EQ(daemon.process()->wait_exit(20s), 1) << read_file(daemon.log_file());
  const std::string log = read_file(daemon.log_file());
  EXPECT_NE(log.find("namespace-uuid is missing"), std::string::npos) << log;
  EXPECT_NE(log.find("0123456789abcdef.left.jsonl"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(daemon.spool() / "state" / "namespace-uuid"));
  EXPECT_EQ(ledger_count(emulator, "totals.jobs"), 0);
}
