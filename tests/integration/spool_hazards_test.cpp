// Role: what producers and operators do to the spool that the daemon must survive without
// losing or stalling other work, run on the real daemon against the emulator: names too long
// to claim, files that cannot be claimed at all, incoming/ removed and re-created, and a
// producer still appending to a file it already dropped.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>

#include "harness.hpp"
#include "ledger.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

class SpoolHazards : public TempDirTest {
 protected:
  SpoolHazards() : TempDirTest("hazards") {}
  fs::path socket() const { return dir_ / "control.sock"; }
  // The control socket, and [spool] with these settings (the harness's spool directory).
  std::string config_toml(const std::string& spool_settings) const {
    return "\n[control]\nsocket = \"" + socket().string() + "\"\n[spool]\ndir = \"" +
           (dir_ / "daemon" / "spool").string() + "\"\n" + spool_settings;
  }
  int healthz() const { return unix_http(socket(), "GET", "/healthz", "").status; }
  std::string status() const { return unix_http(socket(), "GET", "/v1/status", "").body; }
};

// The immutable attribute (root, ext4): rename(2) of such a file fails with EPERM, which makes
// a file that cannot be claimed however often it is tried.
void set_immutable(const fs::path& p, bool on) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << p;
  int flags = 0;
  ASSERT_EQ(::ioctl(fd, FS_IOC_GETFLAGS, &flags), 0) << p;
  flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
  ASSERT_EQ(::ioctl(fd, FS_IOC_SETFLAGS, &flags), 0) << "setting the immutable flag on " << p;
  ::close(fd);
}

void age(const fs::path& p, std::chrono::hours by) {
  fs::last_write_time(p, fs::file_time_type::clock::now() - by);
}

}  // namespace

// More unclaimable files than claim slots, and more files with names too long to claim, all
// older than the good files (so they lead the scan), and all present at start (so inotify
// announces none of them): the good files are still worked, and each long name is failed with
// an outcome instead of blocking incoming/.
TEST_F(SpoolHazards, LongNamesAndUnclaimableFilesNeverStarveTheRest) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator, config_toml("rescan_interval_ms = 250\nmax_active_files = 8\n"));
  const fs::path incoming = daemon.spool() / "incoming";
  std::vector<fs::path> stuck;
  for (int i = 0; i < 12; ++i) {
    daemon.drop(fmt::format("stuck-{:02}.json", i), request_line(100 + i));
    stuck.push_back(incoming / fmt::format("stuck-{:02}.json", i));
    age(stuck.back(), 48h);
    set_immutable(stuck.back(), true);
  }
  for (int i = 0; i < 12; ++i) {
    const std::string name = fmt::format("{:02}", i) + std::string(240, 'L') + ".json";
    daemon.drop(name, request_line(200 + i));
    age(incoming / name, 24h);
  }
  for (int i = 0; i < 3; ++i) daemon.drop(fmt::format("fine-{}.json", i), request_line(i));
  daemon.start();
  const bool worked = eventually([&] {
    return daemon.count_files("done", ".outcome.jsonl") == 3 && daemon.count_files("failed", ".outcome.jsonl") == 12;
  }, 60s);
  const std::string status_now = status();
  for (const auto& p : stuck) set_immutable(p, false);  // before any assertion can end the test
  ASSERT_TRUE(worked) << read_file(daemon.log_file());
  for (const auto& line : all_outcomes(daemon)) {
    if (line.find("\"status\":\"failed\"") == std::string::npos) continue;
    EXPECT_NE(line.find("give it a shorter name"), std::string::npos) << line;
  }
  for (const auto& entry : fs::directory_iterator(daemon.spool() / "failed")) {
    EXPECT_LE(entry.path().filename().string().size(), 255u);
  }
  EXPECT_NE(status_now.find("\"unclaimableFiles\":12"), std::string::npos) << status_now;
  EXPECT_EQ(ledger_count(emulator, "totals.jobs"), 3);
  EXPECT_NE(read_file(daemon.log_file()).find("cannot claim incoming/stuck-"), std::string::npos);
}

// incoming/ removed: /healthz says so (drops there are never seen); re-created: the watch comes
// back, so a new drop is found by inotify (the periodic rescan is an hour away).
TEST_F(SpoolHazards, ARemovedIncomingIsReportedAndWatchedAgainOnceBack) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator, config_toml("rescan_interval_ms = 3600000\n"));
  daemon.start();
  ASSERT_TRUE(eventually([&] { return healthz() == 200; }, 30s)) << read_file(daemon.log_file());
  ASSERT_NE(status().find("\"spoolWatched\":true"), std::string::npos) << status();
  const fs::path incoming = daemon.spool() / "incoming";
  fs::remove_all(incoming);
  ASSERT_TRUE(eventually([&] { return healthz() == 503; }, 30s)) << status();
  EXPECT_NE(unix_http(socket(), "GET", "/healthz", "").body.find("cannot read incoming/"), std::string::npos);
  EXPECT_NE(status().find("\"spoolWatched\":false"), std::string::npos) << status();
  fs::create_directory(incoming);
  ASSERT_TRUE(eventually([&] { return healthz() == 200 && status().find("\"spoolWatched\":true") != std::string::npos; },
                         30s))
      << status() << read_file(daemon.log_file());
  daemon.drop("after.json", request_line(1));
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 30s))
      << read_file(daemon.log_file());
  EXPECT_NE(read_file(daemon.log_file()).find("was removed or moved away"), std::string::npos);
}

// A producer that writes into a file after dropping it (instead of writing in tmp/ and
// renaming): what it added after the daemon read the file is never submitted, so the file
// fails with a reason, rather than go to done/ as if every line had been worked.
TEST_F(SpoolHazards, AFileAppendedToAfterItsReadFailsLoudly) {
  Emulator emulator(dir_ / "emulator", {"--latency-ms", "400"});
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  daemon.drop("grows.jsonl", request_lines(1, 2));
  daemon.start();
  // A create reached the API: the file was read to its end before (reads do not wait).
  ASSERT_TRUE(eventually([&] { return ledger_count(emulator, "totals.jobs") >= 1; }, 30s))
      << read_file(daemon.log_file());
  fs::path claimed;
  for (const auto& entry : fs::directory_iterator(daemon.spool() / "active")) {
    if (entry.path().filename().string().ends_with(".grows.jsonl")) claimed = entry.path();
  }
  ASSERT_FALSE(claimed.empty());
  std::ofstream(claimed, std::ios::app) << request_line(3) << "\n";
  ASSERT_TRUE(eventually([&] { return daemon.count_files("failed", ".outcome.jsonl") == 1; }, 60s))
      << read_file(daemon.log_file());
  EXPECT_EQ(daemon.count_files("done", ".outcome.jsonl"), 0u);
  const std::string outcome = read_file(daemon.spool() / "failed" / "grows.jsonl.outcome.jsonl");
  EXPECT_NE(outcome.find("the file changed while it was worked"), std::string::npos) << outcome;
  EXPECT_NE(read_file(daemon.log_file()).find("grows.jsonl: the file changed while it was worked"), std::string::npos);
  auto ledger = read_ledger(emulator);
  EXPECT_EQ(ledger.size(), 2u);  // the two lines read; the appended third was not
  for (const auto& [id, job] : ledger) EXPECT_TRUE(ran_once(job)) << id;
}
