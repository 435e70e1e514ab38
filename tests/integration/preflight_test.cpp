// Role: the real `bytenite-submitd --check-config [--online]` and a real start against what the
// preflight refuses: a spool under /proc, a group that does not exist, a metrics port already
// listened on; each is named by its config key with a fix, and a start is refused the same
// way (not with CivetWeb's "null context"). --online gets a token from the emulator, and says
// why when the key is refused (exit 2) or the API cannot be reached (exit 75).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include "harness.hpp"

using namespace submitd::testing;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

// A TCP socket listening on 127.0.0.1 at a port the kernel picked, for as long as it lives.
class HeldPort {
 public:
  HeldPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 1) != 0) {
      throw std::runtime_error("cannot hold a port");
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~HeldPort() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

class Preflight : public TempDirTest {
 protected:
  Preflight() : TempDirTest("preflight") {}

  // Runs the daemon with `extra` arguments after --config; returns its exit status and output.
  int run(const DaemonUnderTest& daemon, const std::vector<std::string>& extra, std::string& output,
          const std::string& log_name) {
    std::vector<std::string> argv{(bin_dir() / "bytenite-submitd").string(), "--config", daemon.config_file().string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto log = dir_ / log_name;
    ChildProcess p(argv, log, {{"HTTPS_PROXY", ""}, {"https_proxy", ""}});
    const auto status = p.wait_exit(60s);
    output = read_file(log);
    return status.value_or(-1);
  }
};

TEST_F(Preflight, EachProblemIsNamedWithItsKeyAndFixAndAStartIsRefusedTheSameWay) {
  Emulator emulator(dir_ / "emulator");
  HeldPort held;
  DaemonUnderTest daemon(dir_ / "daemon", emulator,
                         fmt::format("\n[spool]\ndir = \"/proc/bytenite-submitd-spool\"\n"
                                     "[state]\ndir = \"{}\"\n"
                                     "[control]\nsocket = \"{}\"\ngroup = \"no-such-group-bytenite-3c1f\"\n"
                                     "[metrics]\nlisten = \"127.0.0.1:{}\"\n",
                                     (dir_ / "state").string(), (dir_ / "run" / "control.sock").string(), held.port()));
  std::string out;
  EXPECT_EQ(run(daemon, {"--check-config"}, out, "check.log"), 2);
  EXPECT_NE(out.find("bytenite-submitd: spool.dir: /proc/bytenite-submitd-spool does not exist and cannot be "
                     "created in /proc"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("bytenite-submitd: control.group: group \"no-such-group-bytenite-3c1f\" does not exist\n"
                     "    fix: create it (`groupadd --system no-such-group-bytenite-3c1f`"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(fmt::format("bytenite-submitd: metrics.listen: cannot listen on 127.0.0.1:{}: Address already "
                                 "in use\n    fix: free the port",
                                 held.port())),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("state.dir:"), std::string::npos) << "a state directory that can be created is fine: " << out;
  EXPECT_EQ(out.find("control.socket:"), std::string::npos) << out;
  EXPECT_EQ(out.find("configuration OK"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir_ / "state")) << "the check creates nothing";

  EXPECT_EQ(run(daemon, {}, out, "start.log"), 2);
  for (const char* expected : {"configuration refused: spool.dir: /proc/bytenite-submitd-spool",
                               "configuration refused: control.group: group",
                               "configuration refused: metrics.listen: cannot listen on"}) {
    EXPECT_NE(out.find(expected), std::string::npos) << expected << " in: " << out;
  }
  EXPECT_EQ(out.find("null context"), std::string::npos) << out;
  expect_no_secrets(out, "the daemon's output");
}

TEST_F(Preflight, AGoodConfigurationPassesAndOnlineGetsAToken) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator,
                         fmt::format("\n[control]\nsocket = \"{}\"\ngroup = \"root\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n",
                                     (dir_ / "run" / "control.sock").string()));
  std::string out;
  EXPECT_EQ(run(daemon, {"--check-config"}, out, "check.log"), 0) << out;
  EXPECT_NE(out.find("configuration OK"), std::string::npos) << out;
  EXPECT_EQ(out.find("API: a token was issued"), std::string::npos) << "offline unless asked: " << out;
  EXPECT_EQ(run(daemon, {"--check-config", "--online"}, out, "online.log"), 0) << out;
  EXPECT_NE(out.find("API: a token was issued by " + emulator.base_url()), std::string::npos) << out;
  expect_no_secrets(out, "the check's output");
}

TEST_F(Preflight, OnlineSaysWhetherTheKeyWasRefusedOrTheApiNotReached) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  write_file(dir_ / "daemon" / "api_key", "a-key-the-emulator-does-not-know\n");
  std::string out;
  EXPECT_EQ(run(daemon, {"--check-config", "--online"}, out, "refused.log"), 2) << out;
  EXPECT_NE(out.find("bytenite-submitd: API key: the API at " + emulator.base_url() + " refused the token exchange"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("a-key-the-emulator-does-not-know"), std::string::npos) << "never the key itself: " << out;

  const auto port = HeldPort().port();  // closed again at once: nobody answers there
  DaemonUnderTest nowhere(dir_ / "nowhere", emulator);
  std::string config = read_file(nowhere.config_file());
  const auto from = config.find(emulator.base_url());
  config.replace(from, emulator.base_url().size(), fmt::format("https://127.0.0.1:{}/v1", port));
  write_file(nowhere.config_file(), config);
  EXPECT_EQ(run(nowhere, {"--check-config", "--online"}, out, "unreachable.log"), 75) << out;
  EXPECT_NE(out.find("bytenite-submitd: api.base_url: no token from https://127.0.0.1:"), std::string::npos) << out;
  EXPECT_NE(out.find("    fix: check api.base_url"), std::string::npos) << out;
}

TEST_F(Preflight, OnlineWithoutCheckConfigIsAUsageError) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  std::string out;
  EXPECT_EQ(run(daemon, {"--online"}, out, "usage.log"), 2);
  EXPECT_NE(out.find("--online requires --check-config"), std::string::npos) << out;
}

}  // namespace
