// Role: inputFile uploads end to end: the real daemon streams local files to the emulator's
// storage endpoint (its own TLS port) under storage faults, and each job runs once, after
// its upload, with the bytes the file holds (SHA-256 at the emulator = the local file's).
// Refusals at validation (traversal, symlinks, FIFOs, devices, size, outside the allowed
// dirs), a file changed after validation, and SIGKILLs mid-upload and between the upload and
// uploadcompleted: every upload completes exactly once and every job runs once.
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <csignal>
#include <random>
#include <set>
#include <thread>

#include "harness.hpp"
#include "sha256_hex.hpp"
#include "ledger.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;
using emulator::sha256_hex;

namespace {

// Deterministic bytes of `size`, different for each seed.
std::string content(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; i += 8) {
    const std::uint64_t word = random();
    std::memcpy(out.data() + i, &word, std::min<std::size_t>(8, size - i));
  }
  return out;
}

std::string upload_line(int n, const std::string& input_file) {
  return R"({"requestId":"up-)" + std::to_string(n) + R"(","templateId":"t1","dataSource":{"dataSourceDescriptor":"file"},)"
         R"("dataDestination":{"dataSourceDescriptor":"bucket"},"params":{"app":{"n":)" + std::to_string(n) +
         R"(}},"inputFile":")" + input_file + "\"}\n";
}

// The largest input of the many-files test: 50 MiB is the issue's figure (a soak run sets
// SUBMITD_UPLOAD_TEST_MAX_MB=50); CI keeps the same shape smaller.
std::size_t max_input_bytes() {
  const char* mb = std::getenv("SUBMITD_UPLOAD_TEST_MAX_MB");
  return static_cast<std::size_t>(mb ? std::atoi(mb) : 4) * 1024 * 1024;
}

class Upload : public TempDirTest {
 protected:
  Upload() : TempDirTest("upload") {}
  fs::path inputs() const { return dir_ / "inputs"; }
  fs::path socket() const { return dir_ / "control.sock"; }
  std::string config(const std::string& upload_extra = "") const {
    return "retry_base_ms = 20\nretry_cap_ms = 300\n[control]\nsocket = \"" + socket().string() + "\"\n[upload]\ndir = \"" +
           inputs().string() + "\"\nmax_concurrent = 4\nstall_timeout_s = 20\n" + upload_extra;
  }
  // Writes inputs/<name> and returns its SHA-256.
  std::string input(const std::string& name, const std::string& bytes) {
    fs::create_directories((inputs() / name).parent_path());
    write_file(inputs() / name, bytes);
    return sha256_hex(bytes);
  }
  bool all_placed(DaemonUnderTest& d, const std::string& name) {
    return fs::exists(d.spool() / "done" / name) || fs::exists(d.spool() / "failed" / name);
  }
};

}  // namespace

TEST_F(Upload, TwoHundredInputsGoThroughStorageFaultsAndRunOnceAfterTheirUpload) {
  Emulator emulator(dir_ / "emu", {"--job-duration-ms", "50", "--seed", "19", "--storage-fail-503", "0.15",
                                   "--storage-reset-mid-body", "0.15", "--storage-reset-before", "0.05",
                                   "--storage-slow-body", "0.05", "--storage-slow-body-ms", "2"});
  DaemonUnderTest daemon(dir_, emulator, config() + "[metrics]\nlisten = \"127.0.0.1:0\"\n");
  constexpr int kJobs = 200;
  std::map<std::string, std::pair<std::size_t, std::string>> expected;  // requestId -> size, sha
  std::string lines;
  const double span = std::log(static_cast<double>(max_input_bytes()) / 1024.0);
  for (int i = 0; i < kJobs; ++i) {
    // Sizes spread evenly on a log scale from 1 KiB to the largest, both ends included.
    const auto size = static_cast<std::size_t>(1024.0 * std::exp(span * i / (kJobs - 1)));
    const std::string name = "batch/in-" + std::to_string(i) + ".bin";
    expected["up-" + std::to_string(i)] = {size, input(name, content(size, static_cast<std::uint64_t>(i)))};
    lines += upload_line(i, name);
  }
  daemon.drop("uploads.jsonl", lines);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return all_placed(daemon, "uploads.jsonl"); }, 240s)) << read_file(daemon.log_file());

  auto outcomes = all_outcomes(daemon);
  ASSERT_EQ(outcomes.size(), static_cast<std::size_t>(kJobs));
  for (const auto& o : outcomes) {
    EXPECT_NE(o.find(R"("status":"submitted")"), std::string::npos) << o;
    EXPECT_NE(o.find(R"("upload":{"bytes":)"), std::string::npos) << o;
  }
  const auto jobs = read_ledger(emulator);
  ASSERT_EQ(jobs.size(), static_cast<std::size_t>(kJobs));
  std::set<std::string> hashes_seen;
  for (const auto& [id, job] : jobs) {
    EXPECT_TRUE(ran_once(job)) << id;
    EXPECT_GE(job.uploads, 1) << id;
    hashes_seen.insert(job.upload_sha256);
  }
  // Each local file's hash arrived whole at exactly one job, with its size.
  std::set<std::string> hashes_sent;
  for (const auto& [request_id, sent] : expected) hashes_sent.insert(sent.second);
  EXPECT_EQ(hashes_seen, hashes_sent);
  EXPECT_GT(ledger_count(emulator, "storage.resetsMidBody"), 0);
  EXPECT_GT(ledger_count(emulator, "storage.injected503"), 0);
  // Every input's bytes counted once, by the uploads that succeeded; the failed ones apart.
  std::size_t total = 0;
  for (const auto& [request_id, sent] : expected) total += sent.first;
  EXPECT_EQ(daemon.metric("bytenite_submitd_upload_bytes_total"), static_cast<double>(total));
  EXPECT_EQ(daemon.metric("bytenite_submitd_uploads_total{result=\"ok\"}"), kJobs);
  EXPECT_GT(daemon.metric("bytenite_submitd_uploads_total{result=\"failed\"}"), 0);
  EXPECT_EQ(daemon.metric("bytenite_submitd_uploads_in_flight"), 0);
  ASSERT_EQ(daemon.stop(), 0);
  expect_no_secrets(read_file(daemon.log_file()), "daemon log");
  for (const auto& o : outcomes) EXPECT_EQ(o.find("sig="), std::string::npos) << "a signed URL in an outcome";
}

TEST_F(Upload, InputsThatMayNotBeUploadedAreRefusedAtValidation) {
  Emulator emulator(dir_ / "emu", {"--job-duration-ms", "50"});
  DaemonUnderTest daemon(dir_, emulator, config("max_bytes = 4096\nallowed_dirs = [\"" + (dir_ / "shared").string() + "\", \"/dev\"]\n"));
  input("ok.bin", "fine");
  input("big.bin", std::string(5000, 'x'));
  fs::create_directories(dir_ / "outside");
  write_file(dir_ / "outside" / "secret.txt", "secret");
  fs::create_directories(dir_ / "shared");
  write_file(dir_ / "shared" / "shared.bin", "shared");
  fs::create_symlink(dir_ / "outside" / "secret.txt", inputs() / "link.bin");
  ASSERT_EQ(::mkfifo((inputs() / "fifo").c_str(), 0600), 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"../outside/secret.txt", "leads outside its directory"},
      {"link.bin", "symlink"},
      {"fifo", "a FIFO"},
      {"/dev/null", "a device"},
      {(dir_ / "outside" / "secret.txt").string(), "outside upload.allowed_dirs"},
      {"big.bin", "more than upload.max_bytes"},
      {"missing.bin", "does not exist"},
  };
  std::string lines;
  for (std::size_t i = 0; i < cases.size(); ++i) lines += upload_line(static_cast<int>(i), cases[i].first);
  lines += upload_line(50, "ok.bin");
  lines += upload_line(51, (dir_ / "shared" / "shared.bin").string());
  lines += R"({"requestId":"up-52","templateId":"t1","dataSource":{"dataSourceDescriptor":"file"}})" "\n";
  daemon.drop("mixed.jsonl", lines);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return all_placed(daemon, "mixed.jsonl"); }, 60s)) << read_file(daemon.log_file());
  const auto outcomes = all_outcomes(daemon);
  ASSERT_EQ(outcomes.size(), cases.size() + 3);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    // A refused line has no requestId of its own: its line number names it.
    const std::string id = "\"line\":" + std::to_string(i + 1) + ",";
    bool found = false;
    for (const auto& o : outcomes) {
      if (o.find(id) == std::string::npos) continue;
      found = true;
      EXPECT_NE(o.find(R"("status":"failed")"), std::string::npos) << o;
      EXPECT_NE(o.find(R"("stage":"validate")"), std::string::npos) << o;
      EXPECT_NE(o.find(cases[i].second), std::string::npos) << o;
    }
    EXPECT_TRUE(found) << cases[i].first;
  }
  int submitted = 0;
  for (const auto& o : outcomes) submitted += o.find(R"("status":"submitted")") != std::string::npos;
  EXPECT_EQ(submitted, 2);  // ok.bin and the allowed absolute path; the source without inputFile is refused
  EXPECT_EQ(ledger_count(emulator, "storage.uploads"), 2);
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 2);
  ASSERT_EQ(daemon.stop(), 0);
}

TEST_F(Upload, AFileChangedAfterValidationIsNotUploaded) {
  Emulator emulator(dir_ / "emu", {"--job-duration-ms", "50"});
  DaemonUnderTest daemon(dir_, emulator, config());
  input("changing.bin", "the version that was checked");
  daemon.start();
  ASSERT_TRUE(eventually([&] { return unix_http(socket(), "GET", "/healthz", "").status == 200; }, 20s));
  ASSERT_EQ(unix_http(socket(), "POST", "/v1/pause", "").status, 200);
  daemon.drop("change.jsonl", upload_line(1, "changing.bin"));
  // Validated (accepted) while paused; then the file changes under it.
  ASSERT_TRUE(eventually([&] { return unix_http(socket(), "GET", "/v1/jobs/up-1", "").body.find("paused") != std::string::npos; }, 20s));
  write_file(inputs() / "changing.bin", "another version, longer than the first");
  ASSERT_EQ(unix_http(socket(), "POST", "/v1/resume", "").status, 200);
  ASSERT_TRUE(eventually([&] { return all_placed(daemon, "change.jsonl"); }, 30s));
  const auto outcomes = all_outcomes(daemon);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_NE(outcomes[0].find(R"("stage":"upload")"), std::string::npos) << outcomes[0];
  EXPECT_NE(outcomes[0].find("changed after it was validated"), std::string::npos) << outcomes[0];
  EXPECT_EQ(ledger_count(emulator, "storage.requests"), 0);
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 0);
  ASSERT_EQ(daemon.stop(), 0);
}

TEST_F(Upload, ASigkillMidUploadAndAfterItLeavesEachUploadAndRunDoneOnce) {
  Emulator emulator(dir_ / "emu", {"--job-duration-ms", "50", "--storage-slow-body", "1", "--storage-slow-body-ms", "40"});
  DaemonUnderTest daemon(dir_, emulator, config());
  const std::string slow_sha = input("slow.bin", content(8 * 1024 * 1024, 7));  // 32 reads: over a second
  daemon.drop("slow.jsonl", upload_line(1, "slow.bin"));
  daemon.start();
  ASSERT_TRUE(eventually([&] { return ledger_count(emulator, "storage.requests") >= 1; }, 20s));
  daemon.kill_hard();  // mid-body
  EXPECT_EQ(ledger_count(emulator, "storage.uploads"), 0);
  ASSERT_EQ(emulator.post("/_emulator/config", R"({"storageSlowBody":0})").status, 200);
  // Between the upload and uploadcompleted: the journal says uploaded, so no second PUT.
  ASSERT_EQ(emulator.post("/_emulator/fail-next", R"({"status":503,"count":1000000,"path":"/uploadcompleted"})").status, 200);
  const std::string second_sha = input("second.bin", content(300 * 1024, 8));
  daemon.drop("second.jsonl", upload_line(2, "second.bin"));
  daemon.start();
  ASSERT_TRUE(eventually([&] { return ledger_count(emulator, "storage.uploads") == 2; }, 60s)) << read_file(daemon.log_file());
  // Its uploadcompleted refused a few times: the upload's journal record (queued at once,
  // committed within milliseconds) has long been written.
  ASSERT_TRUE(eventually([&] { return ledger_count(emulator, "faults.injected503") >= 3; }, 20s));
  daemon.kill_hard();
  ASSERT_EQ(emulator.post("/_emulator/fail-next/clear", "").status, 200);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return all_placed(daemon, "slow.jsonl") && all_placed(daemon, "second.jsonl"); }, 60s));
  const auto jobs = read_ledger(emulator);
  ASSERT_EQ(jobs.size(), 2u);
  std::set<std::string> hashes;
  for (const auto& [id, job] : jobs) {
    EXPECT_TRUE(ran_once(job)) << id;
    EXPECT_EQ(job.uploads, 1) << id;  // neither upload was sent again whole
    hashes.insert(job.upload_sha256);
  }
  EXPECT_EQ(hashes, (std::set<std::string>{slow_sha, second_sha}));
  ASSERT_EQ(daemon.stop(), 0);
}

TEST_F(Upload, ValidateChecksInputFileByTheConfigsUploadRules) {
  Emulator emulator(dir_ / "emu");
  DaemonUnderTest daemon(dir_, emulator, config());
  input("ok.bin", "fine");
  fs::create_symlink(inputs() / "ok.bin", inputs() / "link.bin");
  fs::create_directories(inputs() / "nested");  // ".." that stays beneath upload.dir is fine
  const fs::path requests = dir_ / "requests.jsonl";
  write_file(requests, upload_line(1, "ok.bin") + upload_line(2, "link.bin") + upload_line(3, "nested/../ok.bin"));
  std::string out;
  EXPECT_EQ(run_cli({"--config", daemon.config_file().string(), "validate", requests.string()}, dir_ / "v.out", out), 1);
  EXPECT_NE(out.find("2 requests valid, 1 refused"), std::string::npos) << out;
  EXPECT_NE(out.find("line 2: field \"inputFile\": inputFile is or passes through a symlink"), std::string::npos) << out;
  // Without the daemon's config there is no upload.dir: a relative inputFile cannot be placed.
  EXPECT_EQ(run_cli({"validate", requests.string()}, dir_ / "v2.out", out), 1);
  EXPECT_NE(out.find("0 requests valid, 3 refused"), std::string::npos) << out;
  EXPECT_NE(out.find("needs upload.dir"), std::string::npos) << out;
}
