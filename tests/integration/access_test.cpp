// Role: who may do what, as the files say (issue "access"): the spool's directories have the
// contract's modes (tmp/ and incoming/ 2770 for the submitters' group, done/ and failed/
// 2750, active/ 0750, state 0700), everything the daemon writes has its mode whatever umask
// it was started with (outcome and retry files 0640, never world-readable), and the control
// socket is 0660 with the configured group.
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "ledger.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

class Access : public TempDirTest, public ::testing::WithParamInterface<mode_t> {
 protected:
  Access() : TempDirTest("access") {}
};

const struct group* other_group() {
  if (::geteuid() == 0) return ::getgrnam("daemon");
  gid_t groups[64];
  const int n = ::getgroups(64, groups);
  for (int i = 0; i < n; ++i) {
    if (groups[i] != ::getgid()) return ::getgrgid(groups[i]);
  }
  return nullptr;
}

}  // namespace

TEST_P(Access, ModesAreTheContractsWhateverTheUmask) {
  // The daemon inherits the test's umask: 0000 (everything allowed) or 0077 (nothing for
  // the group); both must give the same modes.
  const mode_t previous = ::umask(GetParam());
  Emulator emulator(dir_ / "emulator");
  const fs::path socket = dir_ / "control.sock";
  // A group other than the test's primary one (which a new socket gets anyway, so it would
  // prove nothing): as root (CI) Debian's "daemon" group; otherwise a supplementary group.
  const struct group* own = other_group();
  if (own == nullptr) GTEST_SKIP() << "no group other than the primary one to give the socket to";
  const std::string group_name = own->gr_name;
  ASSERT_NE(own->gr_gid, ::getgid());
  DaemonUnderTest daemon(dir_ / "daemon", emulator,
                         "\n[control]\nsocket = \"" + socket.string() + "\"\ngroup = \"" + group_name + "\"\n");
  fs::remove_all(daemon.spool());  // let the daemon make the layout itself
  daemon.start();
  ::umask(previous);
  ASSERT_TRUE(eventually([&] { return unix_http(socket, "GET", "/healthz", "").status == 200; }, 30s))
      << read_file(daemon.log_file());
  const fs::path spool = daemon.spool();
  EXPECT_EQ(mode_of(spool / "tmp"), 02770u);
  EXPECT_EQ(mode_of(spool / "incoming"), 02770u);
  EXPECT_EQ(mode_of(spool / "active"), 0750u);
  EXPECT_EQ(mode_of(spool / "done"), 02750u);
  EXPECT_EQ(mode_of(spool / "failed"), 02750u);
  EXPECT_EQ(mode_of(spool / "state"), 0700u);
  EXPECT_EQ(mode_of(spool / "state" / "namespace-uuid"), 0600u);
  struct stat sock {};
  ASSERT_EQ(::lstat(socket.c_str(), &sock), 0);
  EXPECT_EQ(sock.st_mode & 07777, 0660u);
  EXPECT_EQ(sock.st_gid, own->gr_gid);

  daemon.drop("mixed.jsonl", request_line(1) + "\n{\"templateId\": 7}\n");
  ASSERT_TRUE(eventually([&] { return daemon.count_files("failed", ".outcome.jsonl") == 1; }, 60s))
      << read_file(daemon.log_file());
  EXPECT_EQ(unix_http(socket, "POST", "/v1/pause", "").status, 200);
  std::size_t checked = 0;
  for (const auto& e : fs::directory_iterator(spool / "failed")) {
    const auto name = e.path().filename().string();
    if (name.ends_with(".outcome.jsonl") || name.ends_with(".retry.jsonl")) {
      EXPECT_EQ(mode_of(e.path()), 0640u) << name;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2u);  // the outcome file and the retry file
  EXPECT_EQ(mode_of(spool / "state" / "paused"), 0640u);
  // Nothing the daemon made in its state is readable by others.
  for (const auto& e : fs::directory_iterator(spool / "state")) {
    EXPECT_EQ(mode_of(e.path()) & 0007, 0u) << e.path().filename();
  }
  EXPECT_EQ(daemon.stop(), 0);
}

INSTANTIATE_TEST_SUITE_P(Umask, Access, ::testing::Values(mode_t{0000}, mode_t{0077}),
                         [](const auto& info) { return info.param == 0 ? "Umask0000" : "Umask0077"; });
