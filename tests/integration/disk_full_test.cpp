// Role: the full-disk promise end to end: the daemon's spool and state on a small tmpfs that
// fills up while 2,000 requests are being worked. The daemon must stop claiming, say so (log
// once, the storage_full metric, /v1/status, /healthz 503), lose nothing, and finish every
// request exactly once by itself when space comes back. Mounting needs CAP_SYS_ADMIN: CTest
// runs this binary under `unshare --mount --propagation private`, so the tmpfs vanishes with
// the test whatever happens (CI runs as root).
#include <sys/mount.h>
#include <simdjson.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <unistd.h>

#include "harness.hpp"
#include "ledger.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

constexpr int kFiles = 10;
constexpr int kPerFile = 200;

// Writes `path` until the file system refuses (ENOSPC); returns the bytes written.
std::size_t fill_until_full(const fs::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  std::string block(16 * 1024, 'x');
  std::size_t total = 0;
  for (;;) {
    ssize_t n = ::write(fd, block.data(), block.size());
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return total;
}

int count_in(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class DiskFull : public TempDirTest {
 protected:
  DiskFull() : TempDirTest("diskfull") {}
  void TearDown() override {
    if (mounted_) ::umount2(mount_point_.c_str(), MNT_DETACH);
    TempDirTest::TearDown();
  }
  fs::path mount_point_;
  bool mounted_ = false;
};

}  // namespace

// Both ways a full disk shows: the journal's commits refused (state on the full disk) and,
// with the journal elsewhere, the outcome files' writes refused (the file is then worked
// again from the journal: requests already sent are not sent twice).
enum class StateOn { full_disk, other_disk };

class DiskFullBoth : public DiskFull, public ::testing::WithParamInterface<StateOn> {};

TEST_P(DiskFullBoth, StopsClaimingKeepsEverythingAndResumesWhenSpaceIsBack) {
  // The daemon's spool (and maybe its state) on an 8 MiB tmpfs; its log, config and control
  // socket elsewhere, so the test can read them throughout.
  const bool state_elsewhere = GetParam() == StateOn::other_disk;
  mount_point_ = dir_ / "daemon" / "spool";
  fs::create_directories(mount_point_);
  ASSERT_EQ(::mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, "size=8m,mode=0755"), 0)
      << "mounting a tmpfs needs CAP_SYS_ADMIN (run as root under unshare --mount): " << std::strerror(errno);
  mounted_ = true;

  Emulator emulator(dir_ / "emulator");
  const fs::path socket = dir_ / "control.sock";
  DaemonUnderTest daemon(dir_ / "daemon", emulator,
                         "\n[spool]\ndir = \"" + mount_point_.string() +
                             "\"\nrescan_interval_ms = 200\nmin_free_mb = 0\n" +
                             (state_elsewhere ? "[state]\ndir = \"" + (dir_ / "state").string() + "\"\n" : std::string()) +
                             "[control]\nsocket = \"" + socket.string() + "\"\n"
                             "[metrics]\nlisten = \"127.0.0.1:0\"\n");
  for (int f = 0; f < kFiles; ++f) {
    std::string body = request_lines(f * kPerFile, kPerFile);
    daemon.drop("batch-" + std::to_string(f) + ".jsonl", body);
  }
  // Leave room for the daemon to start (journal, lock, namespace) but not for the work:
  // 2,000 requests need about a megabyte of journal and outcome files.
  const fs::path filler = mount_point_ / "filler";
  ASSERT_GT(fill_until_full(filler), 0u);
  ::truncate(filler.c_str(), static_cast<off_t>(fs::file_size(filler) - 160 * 1024));

  daemon.start();
  auto status = [&] { return unix_http(socket, "GET", "/v1/status", ""); };
  ASSERT_TRUE(eventually([&] { return status().body.find("\"storageFull\":true") != std::string::npos; }, 60s))
      << status().body << "\n" << read_file(daemon.log_file());
  EXPECT_EQ(daemon.metric("bytenite_submitd_storage_full"), 1);
  if (state_elsewhere) {
    EXPECT_EQ(daemon.metric("bytenite_submitd_journal_stalled"), 0);
  } else {  // the journal's commits are refused: journal_stalled says so (the alert's signal)
    EXPECT_TRUE(eventually([&] { return daemon.metric("bytenite_submitd_journal_stalled") == 1; }, 30s));
  }
  auto health = unix_http(socket, "GET", "/healthz", "");
  EXPECT_EQ(health.status, 503);
  EXPECT_NE(health.body.find("full"), std::string::npos) << health.body;
  // The metrics port answers the same, for probes that cannot reach the Unix socket.
  auto metrics_health = http_get_local_answer(daemon.metrics_port().value_or(0), "/healthz");
  EXPECT_EQ(metrics_health.status, 503);
  EXPECT_EQ(metrics_health.body, health.body);
  // A post cannot be stored now: refused with a reason and a time to come back.
  auto posted = unix_http(socket, "POST", "/v1/jobs", request_line(99999) + "\n");
  EXPECT_EQ(posted.status, 503) << posted.body;
  EXPECT_NE(posted.body.find("disk is full"), std::string::npos) << posted.body;
  // Nothing is lost or failed meanwhile: every input is still waiting or being worked.
  EXPECT_EQ(daemon.count_files("failed", ""), 0u);
  EXPECT_EQ(daemon.count_files("incoming", ".jsonl") + daemon.count_files("active", ".jsonl") +
                daemon.count_files("done", ".jsonl") - daemon.count_files("done", ".outcome.jsonl"),
            static_cast<std::size_t>(kFiles));

  fs::remove(filler);  // space is back
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == kFiles; }, 120s))
      << status().body << "\n" << read_file(daemon.log_file());
  EXPECT_EQ(daemon.count_files("failed", ""), 0u);
  EXPECT_NE(status().body.find("\"storageFull\":false"), std::string::npos) << status().body;
  EXPECT_EQ(daemon.metric("bytenite_submitd_storage_full"), 0);
  EXPECT_EQ(daemon.metric("bytenite_submitd_journal_stalled"), 0);
  EXPECT_EQ(unix_http(socket, "GET", "/healthz", "").status, 200);
  EXPECT_EQ(http_get_local_answer(daemon.metrics_port().value_or(0), "/healthz").status, 200);

  // Exactly one outcome per request, every one submitted, and one job with one run each.
  std::map<std::string, int> outcomes_per_request;
  simdjson::dom::parser parser;
  for (const auto& line : all_outcomes(daemon)) {
    simdjson::dom::element r;
    ASSERT_FALSE(parser.parse(simdjson::padded_string(line)).get(r)) << line;
    ++outcomes_per_request[std::string(std::string_view(r["requestId"]))];
    EXPECT_EQ(std::string_view(r["status"]), "submitted") << line;
  }
  EXPECT_EQ(outcomes_per_request.size(), static_cast<std::size_t>(kFiles * kPerFile));
  for (const auto& [id, n] : outcomes_per_request) EXPECT_EQ(n, 1) << id;
  auto ledger = read_ledger(emulator);
  EXPECT_EQ(ledger.size(), static_cast<std::size_t>(kFiles * kPerFile));
  for (const auto& [id, job] : ledger) {
    EXPECT_EQ(job.creates, 1) << id;
    EXPECT_TRUE(ran_once(job)) << id;
  }
  // Said once, and said when it ended; the key never written.
  const std::string log = read_file(daemon.log_file());
  EXPECT_EQ(count_in(log, "disk full ("), 1) << log;
  EXPECT_EQ(count_in(log, "disk space is back"), 1) << log;
  if (state_elsewhere) {
    EXPECT_NE(log.find("outcome not written (disk full)"), std::string::npos) << log;
    EXPECT_EQ(log.find("journal cannot commit"), std::string::npos) << log;
  } else {
    EXPECT_NE(log.find("journal cannot commit"), std::string::npos) << log;
  }
  EXPECT_EQ(log.find(DaemonUnderTest::kApiKey), std::string::npos);
  EXPECT_EQ(daemon.stop(), 0);
}

INSTANTIATE_TEST_SUITE_P(StateOnEitherDisk, DiskFullBoth,
                         ::testing::Values(StateOn::full_disk, StateOn::other_disk),
                         [](const auto& info) { return info.param == StateOn::full_disk ? "JournalOnTheFullDisk" : "JournalElsewhere"; });
