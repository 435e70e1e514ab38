// Role: the control socket's connection cap end to end with the real daemon. 1,100 idle
// clients once took all 1,024 descriptors: the spool scan failed with "Too many open files"
// and drops waited 25 s. Past the cap a connection is answered 503 at once and closed; the
// spool goes on while the idle ones are held; the read timeout still closes them, and then
// requests are served again. Under a low open-file limit the cap shrinks so the daemon keeps
// descriptors for its own work.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "harness.hpp"
#include "ledger.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

// A client that connects and sends nothing; what the daemon writes to it is collected.
struct IdleClient {
  int fd = -1;
  std::string received;
  bool closed = false;  // by the daemon (end of file or reset)

  explicit IdleClient(const fs::path& socket) {
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket.c_str());
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) closed = true;
  }
  IdleClient(IdleClient&& o) noexcept : fd(o.fd), received(std::move(o.received)), closed(o.closed) { o.fd = -1; }
  IdleClient(const IdleClient&) = delete;
  ~IdleClient() {
    if (fd >= 0) ::close(fd);
  }
  // Reads what has come, without waiting.
  void poll() {
    char buf[4096];
    while (!closed) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) {
        received.append(buf, static_cast<std::size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;
      } else {
        closed = true;
      }
    }
  }
  bool refused() const { return closed && received.rfind("HTTP/1.1 503 ", 0) == 0; }
};

struct Tally {
  int open = 0, refused = 0, other = 0;  // other: closed without a 503 (the read timeout)
};

Tally tally(std::vector<IdleClient>& clients) {
  Tally t;
  for (auto& c : clients) {
    c.poll();
    (c.refused() ? t.refused : c.closed ? t.other : t.open)++;
  }
  return t;
}

std::vector<IdleClient> open_idle_clients(const fs::path& socket, int n) {
  std::vector<IdleClient> clients;
  for (int i = 0; i < n; ++i) clients.emplace_back(socket);
  return clients;
}

// The cap the daemon says it serves ("control socket on PATH (at most N connections)");
// without that line, the documented default.
int cap_in_log(const DaemonUnderTest& d) {
  static const std::string kMarker = "(at most ";
  auto log = read_file(d.log_file());
  auto at = log.find(kMarker);
  return at == std::string::npos ? 256 : std::stoi(log.substr(at + kMarker.size()));
}

class ControlLimits : public TempDirTest {
 protected:
  // A refused connection is closed at once, maybe before unix_http has written its request:
  // the write then fails (EPIPE) and the answer is read anyway, as a client ignoring SIGPIPE
  // does, instead of the signal ending the test.
  ControlLimits() : TempDirTest("control-limits") { ::signal(SIGPIPE, SIG_IGN); }
  fs::path socket() const { return dir_ / "control.sock"; }
  std::string control_toml() const { return "\n[control]\nsocket = \"" + socket().string() + "\"\n"; }
  bool healthy() { return unix_http(socket(), "GET", "/healthz", "").status == 200; }
};

constexpr int kIdle = 300;

}  // namespace

TEST_F(ControlLimits, PastTheCapA503AtOnceWhileTheSpoolGoesOnThenServedAgain) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator, control_toml() + "\n[metrics]\nlisten = \"127.0.0.1:0\"\n");
  daemon.start();
  ASSERT_TRUE(eventually([&] { return healthy(); }, 20s)) << read_file(daemon.log_file());
  const int cap = cap_in_log(daemon);
  ASSERT_LT(cap, kIdle);
  auto clients = open_idle_clients(socket(), kIdle);
  // Every client past the cap is answered 503 and closed; those within it are held.
  Tally t;
  ASSERT_TRUE(eventually([&] { t = tally(clients); return t.refused == kIdle - cap; }, 10s))
      << t.open << " open, " << t.refused << " refused, " << t.other << " closed otherwise\n"
      << read_file(daemon.log_file());
  EXPECT_EQ(t.open, cap);
  const auto asked = std::chrono::steady_clock::now();
  auto busy = unix_http(socket(), "GET", "/v1/status", "");
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 5s) << "not answered at once";
  EXPECT_EQ(busy.status, 503) << busy.head << busy.body;
  EXPECT_NE(busy.head.find("Retry-After: 1"), std::string::npos) << busy.head;
  EXPECT_NE(busy.body.find("\"error\":\"the control socket is serving its limit of"), std::string::npos) << busy.body;
  // bytenite-submit meets the same 503 with a body larger than what the daemon reads before
  // closing: it reports the answer instead of dying of SIGPIPE mid-write, and exits 75
  // (temporary: try again).
  const fs::path big = dir_ / "big.jsonl";
  write_file(big, request_lines(1000, 3000));
  std::string out;
  EXPECT_EQ(run_cli({"--socket", socket().string(), "submit", big.string()}, dir_ / "cli.out", out), 75) << out;
  EXPECT_NE(out.find("serving its limit"), std::string::npos) << out;

  // The spool is claimed and worked while the idle clients hold their connections.
  daemon.drop("while-held.jsonl", request_lines(1, 3));
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 30s))
      << read_file(daemon.log_file());
  t = tally(clients);
  EXPECT_EQ(t.open, cap) << "the drop waited for the idle clients to go";
  EXPECT_EQ(daemon.metric("bytenite_submitd_control_connections_open"), cap);
  EXPECT_GE(daemon.metric("bytenite_submitd_control_connections_refused_total"), kIdle - cap + 1);

  // The read timeout still closes the idle ones (no answer: they sent nothing); then the
  // socket serves requests again.
  ASSERT_TRUE(eventually([&] { t = tally(clients); return t.open == 0; }, 30s)) << t.open << " still open";
  EXPECT_EQ(t.other, cap);
  EXPECT_TRUE(eventually([&] { return healthy(); }, 5s));
  EXPECT_EQ(unix_http(socket(), "POST", "/v1/jobs", request_line(9) + "\n").status, 202);
  EXPECT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 2; }, 30s));
  EXPECT_EQ(daemon.metric("bytenite_submitd_control_connections_open"), 0);
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 4);
  for (const auto& [id, job] : read_ledger(emulator)) EXPECT_TRUE(ran_once(job)) << id;
  EXPECT_EQ(daemon.stop(), 0);
}

// With an open-file limit of 128 (under prlimit), 300 idle clients could take every
// descriptor; the cap is lowered to what the daemon's reserve leaves, so drops go on and
// nothing ever fails for want of a descriptor.
TEST_F(ControlLimits, ALowOpenFileLimitLeavesTheSpoolItsDescriptors) {
  Emulator emulator(dir_ / "emulator");
  const fs::path spool = dir_ / "daemon" / "spool";
  // Keys under [api] (the harness's table comes first), then the spool: a reserve of
  // 64 + 2 x 4 API connections + 2 x (4 files + 4 more small ones) = 88 of the 128.
  DaemonUnderTest daemon(dir_ / "daemon", emulator,
                         "connections = 4\nmax_inflight = 4\n\n[spool]\ndir = \"" + spool.string() +
                             "\"\nrescan_interval_ms = 250\nmax_active_files = 4\n" + control_toml());
  daemon.set_wrapper({"/usr/bin/prlimit", "--nofile=128:128", "--"});
  daemon.start();
  ASSERT_TRUE(eventually([&] { return healthy(); }, 20s)) << read_file(daemon.log_file());
  const int cap = 128 - 88;
  auto clients = open_idle_clients(socket(), kIdle);
  Tally t;
  EXPECT_TRUE(eventually([&] { t = tally(clients); return t.refused == kIdle - cap; }, 10s))
      << t.open << " open, " << t.refused << " refused, " << t.other << " closed otherwise";

  // Not a fatal check above: without the cap, what follows shows the original symptom.
  daemon.drop("low-limit.jsonl", request_lines(1, 20));
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 30s))
      << read_file(daemon.log_file());
  EXPECT_EQ(tally(clients).open, cap) << "the drop waited for the idle clients to go";
  const std::string log = read_file(daemon.log_file());
  EXPECT_EQ(log.find("Too many open files"), std::string::npos) << log;
  EXPECT_NE(log.find("at most " + std::to_string(cap) + " connections"), std::string::npos) << log;
  EXPECT_EQ(ledger_count(emulator, "totals.runs"), 20);
  for (const auto& [id, job] : read_ledger(emulator)) EXPECT_TRUE(ran_once(job)) << id;
  EXPECT_EQ(daemon.stop(), 0);
}

// The soft open-file limit is raised to the hard one at start, so a low soft limit (200, less
// than the default reserve of 768) does not shrink the cap while the hard one leaves room.
TEST_F(ControlLimits, TheSoftOpenFileLimitIsRaisedToTheHardOne) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator, control_toml());
  daemon.set_wrapper({"/usr/bin/prlimit", "--nofile=200:4096", "--"});
  daemon.start();
  ASSERT_TRUE(eventually([&] { return healthy(); }, 20s)) << read_file(daemon.log_file());
  const std::string log = read_file(daemon.log_file());
  EXPECT_NE(log.find("open-file limit raised from 200 to 4096"), std::string::npos) << log;
  EXPECT_EQ(cap_in_log(daemon), 256) << log;
  EXPECT_EQ(daemon.stop(), 0);
}
