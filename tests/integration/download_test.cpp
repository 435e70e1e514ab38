// Role: result downloads end to end: the real daemon follows its jobs and, as each completes,
// fetches its results from the emulator's storage endpoint (its own TLS port) into
// results.download_dir/<requestId>/<name>, under storage faults, across a SIGKILL mid-download,
// and with result names a hostile server chose. Every file under its final name is whole (the
// emulator's deterministic bytes), no temp file is left, nothing is written outside the
// download directory, and a request's file is placed only once its results are on disk.
#include <regex>
#include <set>
#include <thread>

#include "harness.hpp"
#include "ledger.hpp"
#include "result_bytes.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

constexpr std::string_view kResultName = "out_0/result.bin";

std::string request_line(const std::string& request_id, const std::string& template_id = "t1") {
  return R"({"requestId":")" + request_id + R"(","templateId":")" + template_id +
         R"(","dataDestination":{"dataSourceDescriptor":"bucket"}})" "\n";
}

// What the emulator serves for a job's result: `size` bytes of its deterministic content.
std::string expected_result(const std::string& job_id, std::string_view name, std::size_t size) {
  std::string bytes(size, '\0');
  emulator::result_bytes(emulator::result_seed(job_id, name), 0, bytes.data(), bytes.size());
  return bytes;
}

std::string member(const std::string& outcome, const std::string& key) {
  std::smatch m;
  const std::regex pattern("\"" + key + "\":\"([^\"]*)\"");
  return std::regex_search(outcome, m, pattern) ? m[1].str() : "";
}

// Every regular file under `dir`, relative to it.
std::set<std::string> files_under(const fs::path& dir) {
  std::set<std::string> found;
  if (!fs::exists(dir)) return found;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_directory()) found.insert(fs::relative(entry.path(), dir).string());
  }
  return found;
}

class Download : public TempDirTest {
 protected:
  Download() : TempDirTest("download") {}
  fs::path results() const { return dir_ / "results"; }
  std::string config(const std::string& results_extra = "") const {
    return "retry_base_ms = 20\nretry_cap_ms = 300\n[follow]\nenabled = true\npoll_interval_s = 1\n[results]\n"
           "download_dir = \"" + results().string() + "\"\nmax_concurrent = 4\n" + results_extra;
  }
  static bool placed(DaemonUnderTest& d, const std::string& name) {
    return fs::exists(d.spool() / "done" / name) || fs::exists(d.spool() / "failed" / name);
  }
};

}  // namespace

TEST_F(Download, TwoHundredJobsBringTheirResultsHomeThroughStorageFaults) {
  constexpr std::size_t kResultBytes = 256 * 1024;
  Emulator emulator(dir_ / "emu", {"--job-duration-ms", "50", "--seed", "23", "--result-bytes",
                                   std::to_string(kResultBytes), "--storage-fail-503", "0.15",
                                   "--storage-reset-mid-body", "0.15", "--storage-reset-before", "0.05"});
  DaemonUnderTest daemon(dir_, emulator, config() + "[metrics]\nlisten = \"127.0.0.1:0\"\n");
  constexpr int kJobs = 200;
  std::string lines;
  for (int i = 0; i < kJobs; ++i) lines += request_line("dl-" + std::to_string(i));
  daemon.drop("results.jsonl", lines);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return placed(daemon, "results.jsonl"); }, 240s)) << read_file(daemon.log_file());

  const auto outcomes = all_outcomes(daemon);
  ASSERT_EQ(outcomes.size(), static_cast<std::size_t>(kJobs));
  std::set<std::string> expected_files;
  for (const auto& o : outcomes) {
    const std::string request_id = member(o, "requestId");
    const fs::path local = results() / request_id / kResultName;
    EXPECT_EQ(member(o, "localPath"), local.string()) << o;
    EXPECT_NE(o.find("\"bytes\":" + std::to_string(kResultBytes)), std::string::npos) << o;
    EXPECT_EQ(o.find("downloadError"), std::string::npos) << o;
    EXPECT_TRUE(read_file(local) == expected_result(member(o, "jobId"), kResultName, kResultBytes)) << local;
    expected_files.insert((fs::path(request_id) / kResultName).string());
  }
  // Exactly the results, each once: no temp file left, nothing else written.
  EXPECT_EQ(files_under(results()), expected_files);
  for (const auto& [id, job] : read_ledger(emulator)) EXPECT_TRUE(ran_once(job)) << id;
  EXPECT_GE(ledger_count(emulator, "storage.downloads"), kJobs);
  EXPECT_GT(ledger_count(emulator, "storage.resetsMidBody"), 0);
  EXPECT_GT(ledger_count(emulator, "storage.injected503"), 0);
  EXPECT_EQ(daemon.metric("bytenite_submitd_downloads_total{result=\"ok\"}"), kJobs);
  EXPECT_GT(daemon.metric("bytenite_submitd_downloads_total{result=\"retried\"}"), 0);
  EXPECT_EQ(daemon.metric("bytenite_submitd_downloads_total{result=\"failed\"}"), 0);
  EXPECT_EQ(daemon.metric("bytenite_submitd_download_bytes_total"), static_cast<double>(kJobs * kResultBytes));
  EXPECT_EQ(daemon.metric("bytenite_submitd_downloads_in_flight"), 0);
  ASSERT_EQ(daemon.stop(), 0);
  const std::string log = read_file(daemon.log_file());
  expect_no_secrets(log, "daemon log");
  EXPECT_EQ(log.find("/download/"), std::string::npos) << "a result link in the log";
}

TEST_F(Download, ASigkillMidDownloadLeavesNoPartialFileAndTheRestartFetchesItOnce) {
  constexpr std::size_t kResultBytes = 8 * 1024 * 1024;  // 128 slow writes: several seconds
  Emulator emulator(dir_ / "emu", {"--job-duration-ms", "50", "--result-bytes", std::to_string(kResultBytes),
                                   "--storage-slow-body", "1", "--storage-slow-body-ms", "40"});
  DaemonUnderTest daemon(dir_, emulator, config());
  daemon.drop("slow.jsonl", request_line("slow-1"));
  daemon.start();
  ASSERT_TRUE(eventually([&] { return ledger_count(emulator, "storage.requests") >= 1; }, 30s));
  std::this_thread::sleep_for(300ms);  // part of the body is on disk
  daemon.kill_hard();
  const fs::path final_path = results() / "slow-1" / kResultName;
  EXPECT_FALSE(fs::exists(final_path)) << "a partial result under its final name";
  EXPECT_EQ(ledger_count(emulator, "storage.downloads"), 0);
  EXPECT_FALSE(placed(daemon, "slow.jsonl"));
  ASSERT_EQ(emulator.post("/_emulator/config", R"({"storageSlowBody":0})").status, 200);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return placed(daemon, "slow.jsonl"); }, 60s)) << read_file(daemon.log_file());
  const auto outcomes = all_outcomes(daemon);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(member(outcomes[0], "localPath"), final_path.string()) << outcomes[0];
  EXPECT_TRUE(read_file(final_path) == expected_result(member(outcomes[0], "jobId"), kResultName, kResultBytes));
  EXPECT_EQ(files_under(results()), (std::set<std::string>{(fs::path("slow-1") / kResultName).string()}));
  EXPECT_EQ(ledger_count(emulator, "storage.downloads"), 1);  // served whole once
  for (const auto& [id, job] : read_ledger(emulator)) EXPECT_TRUE(ran_once(job)) << id;
  ASSERT_EQ(daemon.stop(), 0);
}

TEST_F(Download, ASigtermMidDownloadStopsCleanlyAndTheRestartFinishesIt) {
  constexpr std::size_t kResultBytes = 8 * 1024 * 1024;
  Emulator emulator(dir_ / "emu", {"--job-duration-ms", "50", "--result-bytes", std::to_string(kResultBytes),
                                   "--storage-slow-body", "1", "--storage-slow-body-ms", "40"});
  DaemonUnderTest daemon(dir_, emulator, config());
  daemon.drop("term.jsonl", request_line("term-1"));
  daemon.start();
  ASSERT_TRUE(eventually([&] { return ledger_count(emulator, "storage.requests") >= 1; }, 30s));
  ASSERT_EQ(daemon.stop(), 0);  // SIGTERM while the body is still coming: no wait for it
  EXPECT_EQ(files_under(results()), std::set<std::string>{}) << "a temp or partial file left behind";
  EXPECT_FALSE(placed(daemon, "term.jsonl"));
  ASSERT_EQ(emulator.post("/_emulator/config", R"({"storageSlowBody":0})").status, 200);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return placed(daemon, "term.jsonl"); }, 60s)) << read_file(daemon.log_file());
  EXPECT_EQ(files_under(results()), (std::set<std::string>{(fs::path("term-1") / kResultName).string()}));
  ASSERT_EQ(daemon.stop(), 0);
}

TEST_F(Download, HostileResultNamesAndOversizedResultsAreRefusedAndNothingLandsOutside) {
  Emulator emulator(dir_ / "emu", {"--job-duration-ms", "50", "--result-bytes", "2000"});
  DaemonUnderTest daemon(dir_, emulator, config());
  daemon.drop("hostile.jsonl", request_line("hostile-1", "hostile-names-1"));
  daemon.start();
  ASSERT_TRUE(eventually([&] { return placed(daemon, "hostile.jsonl"); }, 60s)) << read_file(daemon.log_file());
  const auto outcomes = all_outcomes(daemon);
  ASSERT_EQ(outcomes.size(), 1u);
  const std::string& o = outcomes[0];
  EXPECT_NE(o.find(R"("name":"../escape.bin","link":)"), std::string::npos) << o;
  for (const char* why : {"leads out of its directory", "is an absolute path", "holds a control character"}) {
    EXPECT_NE(o.find(std::string("not downloaded: the result's name ") + why), std::string::npos) << why << "\n" << o;
  }
  EXPECT_EQ(member(o, "localPath"), (results() / "hostile-1/fine/result.bin").string()) << o;
  EXPECT_EQ(files_under(results()), (std::set<std::string>{"hostile-1/fine/result.bin"}));
  // Nothing appeared beside the download directory either.
  EXPECT_FALSE(fs::exists(dir_ / "escape.bin"));
  EXPECT_FALSE(fs::exists(dir_ / "up.bin"));
  EXPECT_FALSE(fs::exists(results() / "up.bin"));
  ASSERT_EQ(daemon.stop(), 0);

  // A result over results.max_bytes is not kept.
  DaemonUnderTest small(dir_ / "small", emulator, config("max_bytes = 1000\n"));
  small.drop("big.jsonl", request_line("big-1"));
  small.start();
  ASSERT_TRUE(eventually([&] { return placed(small, "big.jsonl"); }, 60s)) << read_file(small.log_file());
  const auto big = all_outcomes(small);
  ASSERT_EQ(big.size(), 1u);
  EXPECT_NE(big[0].find("larger than results.max_bytes (1000 bytes)"), std::string::npos) << big[0];
  EXPECT_FALSE(fs::exists(results() / "big-1" / kResultName));
  ASSERT_EQ(small.stop(), 0);
}
