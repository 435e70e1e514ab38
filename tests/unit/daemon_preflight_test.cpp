// Role: the preflight (daemon/preflight.hpp): which checks apply to a configuration, that each
// finding names its config key, the problem and a fix, and the real directory and group probes
// on real files. (Binding metrics.listen is exercised by the end-to-end preflight test.)
#include "preflight.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "config/temp_dir.hpp"
#include "state_dir.hpp"

using namespace submitd;

namespace {

namespace fs = std::filesystem;

config::Settings settings_with_everything() {
  config::Settings s;
  s.spool.dir = "/srv/spool";
  s.state.dir = "/srv/state";
  s.control.socket = "/run/submitd/control.sock";
  s.control.group = "producers";
  s.metrics.listen = "127.0.0.1:9464";
  return s;
}

// Probes that find nothing wrong, and remember what they were asked.
struct FakeSystem {
  std::set<fs::path> bad_dirs;
  bool groups_exist = true;
  std::optional<std::string> listen_fails;
  bool running = false;
  std::vector<std::string> asked;
  PreflightProbes probes() {
    return {[this](const fs::path& d) -> std::optional<std::string> {
              asked.push_back("dir " + d.string());
              if (bad_dirs.count(d)) return d.string() + " is broken";
              return std::nullopt;
            },
            [this](const std::string& g) {
              asked.push_back("group " + g);
              return groups_exist;
            },
            [this](const std::string& host, std::uint16_t port) {
              asked.push_back("listen " + host + ":" + std::to_string(port));
              return listen_fails;
            },
            [this](const fs::path&) { return running; }};
  }
};

std::vector<std::string> keys_of(const PreflightReport& r) {
  std::vector<std::string> keys;
  for (const auto& f : r.findings) keys.push_back(f.key);
  return keys;
}

TEST(Preflight, EveryProblemIsNamedByItsKeyWithAFix) {
  FakeSystem sys;
  sys.bad_dirs = {"/srv/spool", "/srv/state", "/run/submitd"};
  sys.groups_exist = false;
  sys.listen_fails = "Address already in use";
  const auto report = preflight(settings_with_everything(), sys.probes());
  EXPECT_EQ(keys_of(report),
            (std::vector<std::string>{"spool.dir", "state.dir", "control.socket", "control.group", "metrics.listen"}));
  for (const auto& f : report.findings) EXPECT_FALSE(f.fix.empty()) << f.key;
  EXPECT_EQ(report.findings[0].problem, "/srv/spool is broken");
  EXPECT_EQ(report.findings[2].problem, "/run/submitd is broken") << "the socket's directory is what must be writable";
  EXPECT_EQ(report.findings[3].problem, "group \"producers\" does not exist");
  EXPECT_EQ(report.findings[4].problem, "cannot listen on 127.0.0.1:9464: Address already in use");
  EXPECT_NE(report.findings[4].fix.find("metrics.listen = \"\""), std::string::npos) << report.findings[4].fix;
  EXPECT_EQ(describe(report.findings[3]),
            "control.group: group \"producers\" does not exist; fix: " + report.findings[3].fix);
  EXPECT_FALSE(report.ok());
}

TEST(Preflight, AGoodMachinePassesWithNothingToNote) {
  FakeSystem sys;
  const auto report = preflight(settings_with_everything(), sys.probes());
  EXPECT_TRUE(report.ok());
  EXPECT_TRUE(report.notes.empty());
  EXPECT_NE(std::find(sys.asked.begin(), sys.asked.end(), "listen 127.0.0.1:9464"), sys.asked.end());
  EXPECT_NE(std::find(sys.asked.begin(), sys.asked.end(), "group producers"), sys.asked.end());
}

TEST(Preflight, WhatIsNotConfiguredIsNotChecked) {
  FakeSystem sys;
  sys.groups_exist = false;
  sys.listen_fails = "Address already in use";
  config::Settings s = settings_with_everything();
  s.control.socket.reset();
  s.control.group.reset();
  s.metrics.enabled = false;
  EXPECT_TRUE(preflight(s, sys.probes()).ok());
  for (const auto& a : sys.asked) EXPECT_EQ(a.rfind("dir ", 0), 0u) << a;
}

TEST(Preflight, TheDownloadDirectoryMustBeWritableWhenSet) {
  FakeSystem sys;
  sys.bad_dirs = {"/srv/results"};
  config::Settings s = settings_with_everything();
  EXPECT_TRUE(preflight(s, sys.probes()).ok());  // not set: not asked
  s.results.download_dir = "/srv/results";
  const auto report = preflight(s, sys.probes());
  EXPECT_EQ(keys_of(report), (std::vector<std::string>{"results.download_dir"}));
  EXPECT_EQ(report.findings[0].problem, "/srv/results is broken");
  EXPECT_NE(report.findings[0].fix.find("ReadWritePaths="), std::string::npos) << report.findings[0].fix;
}

TEST(Preflight, TheJetStreamIntakeRunsWithFollowingAndAFleetCap) {
  FakeSystem sys;
  config::Settings s = settings_with_everything();
  s.jetstream.servers = {"nats://127.0.0.1:4222"};
  s.jetstream.kv_bucket = "requests";
  s.submit.max_jobs_per_minute = 600;  // shared by the fleet's live members
  s.follow.enabled = true;             // final records are published
  EXPECT_TRUE(preflight(s, sys.probes()).ok());
}

TEST(Preflight, AnUnwritableSpoolSubdirectoryIsTheSpoolsProblem) {
  submitd::testing::TempDir tmp;
  fs::create_directories(tmp.path() / "spool" / "incoming");
  FakeSystem sys;
  sys.bad_dirs = {tmp.path() / "spool" / "incoming"};
  config::Settings s = settings_with_everything();
  s.spool.dir = tmp.path() / "spool";
  const auto report = preflight(s, sys.probes());
  ASSERT_EQ(keys_of(report), std::vector<std::string>{"spool.dir"});
  EXPECT_EQ(report.findings[0].problem, (tmp.path() / "spool" / "incoming").string() + " is broken");
}

TEST(Preflight, ARunningDaemonsOwnMetricsPortIsANoteNotAFinding) {
  FakeSystem sys;
  sys.running = true;
  sys.listen_fails = "Address already in use";
  const auto report = preflight(settings_with_everything(), sys.probes());
  EXPECT_TRUE(report.ok());
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_NE(report.notes[0].find("metrics.listen (127.0.0.1:9464) not checked: a daemon is running"), std::string::npos)
      << report.notes[0];
}

TEST(PreflightProbes, DirectoriesThatExistOrCanBeMadeAreUsableAndLeftAsTheyWere) {
  submitd::testing::TempDir tmp;
  const auto probe = system_probes().directory_problem;
  EXPECT_EQ(probe(tmp.path()), std::nullopt);
  EXPECT_EQ(probe(tmp.path() / "not" / "yet"), std::nullopt) << "the daemon can create it";
  EXPECT_FALSE(fs::exists(tmp.path() / "not")) << "the check creates nothing";
  EXPECT_TRUE(fs::is_empty(tmp.path())) << "and leaves no scratch directory behind";
}

TEST(PreflightProbes, AFileOrProcIsNoPlaceForADirectory) {
  submitd::testing::TempDir tmp;
  const auto file = tmp.write("plain", "x");
  const auto probe = system_probes().directory_problem;
  EXPECT_EQ(probe(file), file.string() + " is not a directory");
  EXPECT_EQ(probe(file / "spool"), (file / "spool").string() + " cannot be created: " + file.string() +
                                       " is not a directory");
  const auto in_proc = probe("/proc/bytenite-submitd-spool");
  ASSERT_TRUE(in_proc.has_value());
  EXPECT_NE(in_proc->find("/proc/bytenite-submitd-spool does not exist and cannot be created in /proc"),
            std::string::npos)
      << *in_proc;
}

TEST(PreflightProbes, GroupsAreLookedUp) {
  const auto exists = system_probes().group_exists;
  EXPECT_TRUE(exists("root"));
  EXPECT_FALSE(exists("no-such-group-bytenite-3c1f"));
}

TEST(PreflightProbes, ARunningDaemonIsSeenByItsStateLock) {
  submitd::testing::TempDir tmp;
  const auto running = system_probes().daemon_running;
  EXPECT_FALSE(running(tmp.path())) << "no lock file: nobody runs here";
  spool::SpoolPaths paths;
  paths.state = tmp.path();
  {
    InstanceLock lock(state_lock_file(paths));
    EXPECT_TRUE(running(tmp.path()));
  }
  EXPECT_FALSE(running(tmp.path())) << "the lock file stays, the lock went with its holder";
  InstanceLock again(state_lock_file(paths));  // and looking did not keep it
}

}  // namespace
