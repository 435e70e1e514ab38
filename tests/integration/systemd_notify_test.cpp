// Role: the daemon's systemd protocol, observed the way systemd observes it: a datagram
// socket named by NOTIFY_SOCKET receives READY=1 once intake runs, STATUS= lines with live
// counts, WATCHDOG=1 pings when WATCHDOG_USEC is set, RELOADING=1 then READY=1 around a
// SIGHUP, and STOPPING=1 at SIGTERM.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "harness.hpp"
#include "ledger.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

// Collects every datagram sent to a Unix datagram socket, on a thread of its own.
class NotifyListener {
 public:
  explicit NotifyListener(const fs::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("bind notify");
    timeval tv{0, 100000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    thread_ = std::thread([this] {
      char buf[4096];
      while (!done_) {
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n > 0) {
          std::lock_guard lock(mutex_);
          messages_.emplace_back(buf, static_cast<std::size_t>(n));
        }
      }
    });
  }
  ~NotifyListener() {
    done_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::vector<std::string> messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  // Index of the first message at or after `from` containing `text`, or -1.
  int find(const std::string& text, int from = 0) {
    auto all = messages();
    for (std::size_t i = static_cast<std::size_t>(from); i < all.size(); ++i) {
      if (all[i].find(text) != std::string::npos) return static_cast<int>(i);
    }
    return -1;
  }

 private:
  fs::path path_;
  int fd_ = -1;
  std::atomic<bool> done_{false};
  std::mutex mutex_;
  std::vector<std::string> messages_;
  std::thread thread_;
};

class SystemdNotify : public TempDirTest {
 protected:
  SystemdNotify() : TempDirTest("notify") {}
};

}  // namespace

TEST_F(SystemdNotify, ReadyStatusWatchdogReloadAndStopping) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  NotifyListener listener(dir_ / "notify.sock");
  daemon.drop("one.json", request_line(1));
  ChildProcess process({(bin_dir() / "bytenite-submitd").string(), "--config", daemon.config_file().string()},
                       daemon.log_file(),
                       {{"NOTIFY_SOCKET", (dir_ / "notify.sock").string()}, {"WATCHDOG_USEC", "300000"}});
  ASSERT_TRUE(eventually([&] { return listener.find("READY=1") >= 0; }, 20s)) << read_file(daemon.log_file());
  EXPECT_GE(listener.find("STATUS="), 0);
  // Pings at a third of WATCHDOG_USEC (300 ms): several within two seconds.
  ASSERT_TRUE(eventually([&] {
    int count = 0;
    for (const auto& m : listener.messages()) count += m.find("WATCHDOG=1") != std::string::npos;
    return count >= 3;
  }, 5s));
  ASSERT_TRUE(eventually([&] { return daemon.count_files("done", ".outcome.jsonl") == 1; }, 30s));
  ASSERT_TRUE(eventually([&] { return listener.find("files active 0") >= 0; }, 10s));

  int before_reload = static_cast<int>(listener.messages().size());
  process.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return listener.find("RELOADING=1", before_reload) >= 0; }, 10s));
  int reloading = listener.find("RELOADING=1", before_reload);
  EXPECT_TRUE(eventually([&] { return listener.find("READY=1", reloading + 1) >= 0; }, 10s));

  process.signal(SIGTERM);
  EXPECT_EQ(process.wait_exit(30s), 0);
  EXPECT_GE(listener.find("STOPPING=1"), 0);
}
