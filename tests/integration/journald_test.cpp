// Role: the daemon's log under journald, read back from the native protocol. The daemon runs
// in a mount namespace of its own (unshare) in which the test's datagram socket is bind-mounted
// at /run/systemd/journal/socket, with JOURNAL_STREAM naming its stderr as systemd would: what
// it sends there is what journald would store. Checked: the fields of a failed request
// (REQUEST_ID, JOB_ID, CLAIM_ID, STAGE, HTTP_STATUS, MESSAGE_ID, PRIORITY), a request traced
// from acceptance to its end at debug level, the file's summary line, and nothing on stderr.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "harness.hpp"
#include "ledger.hpp"
#include "util/log.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;
namespace event = submitd::log::event;

namespace {

using Entry = std::map<std::string, std::string>;

// One datagram of the native protocol: "KEY=value\n", or "KEY\n", a little-endian 64-bit
// length, the value's bytes and "\n" (for values with newlines).
Entry parse_entry(std::string_view d) {
  Entry e;
  while (!d.empty()) {
    const auto nl = d.find('\n');
    const auto eq = d.find('=');
    if (eq != std::string_view::npos && (nl == std::string_view::npos || eq < nl)) {
      const auto end = nl == std::string_view::npos ? d.size() : nl;
      e[std::string(d.substr(0, eq))] = std::string(d.substr(eq + 1, end - eq - 1));
      d.remove_prefix(std::min(d.size(), end + 1));
      continue;
    }
    if (nl == std::string_view::npos || d.size() < nl + 9) break;
    std::uint64_t size = 0;
    std::memcpy(&size, d.data() + nl + 1, 8);
    if (d.size() < nl + 9 + size) break;
    e[std::string(d.substr(0, nl))] = std::string(d.substr(nl + 9, size));
    d.remove_prefix(std::min(d.size(), nl + 9 + size + 1));
  }
  return e;
}

// The journal's socket, as the test sees it: every entry received, on a thread of its own (a
// full socket buffer would make the daemon's sends fail).
class JournalSocket {
 public:
  explicit JournalSocket(const fs::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    reader_ = std::thread([this] { read(); });
  }
  ~JournalSocket() {
    stop_ = true;
    reader_.join();
    ::close(fd_);
  }
  bool bound() const { return bound_; }
  std::vector<Entry> entries() {
    std::lock_guard lock(mutex_);
    return entries_;
  }
  std::vector<Entry> with(const std::string& key, const std::string& value) {
    std::vector<Entry> out;
    for (auto& e : entries()) {
      if (auto it = e.find(key); it != e.end() && it->second == value) out.push_back(e);
    }
    return out;
  }

 private:
  void read() {
    std::vector<char> buf(1 << 20);
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n <= 0) continue;
      std::lock_guard lock(mutex_);
      entries_.push_back(parse_entry(std::string_view(buf.data(), static_cast<std::size_t>(n))));
    }
  }
  fs::path path_;
  int fd_ = -1;
  bool bound_ = false;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<Entry> entries_;
  std::thread reader_;
};

class Journald : public TempDirTest {
 protected:
  Journald() : TempDirTest("journald") {}
};

}  // namespace

TEST_F(Journald, RequestsAreTracedWithTheirFieldsInTheNativeProtocol) {
  JournalSocket journal(dir_ / "journal.sock");
  ASSERT_TRUE(journal.bound()) << std::strerror(errno);
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator, "\n[log]\nlevel = \"debug\"\n");
  // As systemd would: stderr is the journal's stream, and the journal listens on its socket.
  const std::string script =
      "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && touch /run/systemd/journal/socket && "
      "mount --bind \"$0\" /run/systemd/journal/socket && "
      "JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) && export JOURNAL_STREAM && exec \"$@\"";
  daemon.set_wrapper({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script,
                      (dir_ / "journal.sock").string()});
  daemon.drop("mixed.jsonl", request_line(1) + "\n" + R"({"requestId":"denied-1","templateId":"denied-template"})" + "\n");
  daemon.start();
  ASSERT_TRUE(eventually([&] { return daemon.count_files("failed", ".outcome.jsonl") == 1; }, 30s))
      << read_file(daemon.log_file());
  ASSERT_TRUE(eventually([&] { return !journal.with("MESSAGE_ID", std::string(event::file_placed)).empty(); }, 10s));
  EXPECT_EQ(daemon.stop(), 0);
  ASSERT_TRUE(eventually([&] { return !journal.with("MESSAGE_ID", std::string(event::daemon_stopping)).empty(); }, 10s));

  EXPECT_EQ(journal.with("MESSAGE_ID", std::string(event::daemon_started)).size(), 1u);
  auto failed = journal.with("MESSAGE_ID", std::string(event::request_failed));
  ASSERT_EQ(failed.size(), 1u);
  auto& f = failed.front();
  EXPECT_EQ(f["REQUEST_ID"], "denied-1");
  EXPECT_EQ(f["JOB_ID"].size(), 36u) << f["JOB_ID"];
  EXPECT_EQ(f["CLAIM_ID"].size(), 16u);
  EXPECT_EQ(f["STAGE"], "create");
  EXPECT_EQ(f["HTTP_STATUS"].size(), 3u);
  EXPECT_EQ(f["HTTP_STATUS"][0], '4') << f["HTTP_STATUS"];
  EXPECT_EQ(f["PRIORITY"], "6");
  EXPECT_EQ(f["SYSLOG_IDENTIFIER"], "bytenite-submitd");
  EXPECT_NE(f["MESSAGE"].find("request denied-1"), std::string::npos) << f["MESSAGE"];

  // Debug: the good request from its acceptance, through each call, to its end.
  auto traced = journal.with("REQUEST_ID", "it-1");
  std::vector<std::string> stages;
  for (auto& e : traced) {
    EXPECT_EQ(e["MESSAGE_ID"], event::request_trace);
    EXPECT_EQ(e["PRIORITY"], "7");
    EXPECT_EQ(e["CLAIM_ID"], f["CLAIM_ID"]);
    if (e.count("STAGE")) stages.push_back(e["STAGE"]);
  }
  ASSERT_GE(traced.size(), 6u);
  EXPECT_NE(traced.front()["MESSAGE"].find("accepted as job"), std::string::npos) << traced.front()["MESSAGE"];
  EXPECT_NE(traced.back()["MESSAGE"].find("ended: submitted"), std::string::npos) << traced.back()["MESSAGE"];
  EXPECT_EQ(stages, (std::vector<std::string>{"create", "datasource", "params", "run"}));

  auto placed = journal.with("MESSAGE_ID", std::string(event::file_placed));
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed.front()["CLAIM_ID"], f["CLAIM_ID"]);
  EXPECT_NE(placed.front()["MESSAGE"].find("1 submitted, 0 duplicate, 1 failed"), std::string::npos);
  // Everything went to the journal: stderr stayed empty.
  EXPECT_EQ(read_file(daemon.log_file()), "");
  std::string all;
  for (auto& e : journal.entries()) {
    for (auto& [k, v] : e) all += k + "=" + v + "\n";
  }
  expect_no_secrets(all, "the journal entries");
}

// A file of refused requests: a burst of per-request lines, then only the file's summary
// (outside journald too: timestamped text).
TEST_F(Journald, PerRequestFailuresAreRateLimitedWithAPerFileSummary) {
  Emulator emulator(dir_ / "emulator");
  DaemonUnderTest daemon(dir_ / "daemon", emulator);
  std::string lines;
  for (int i = 0; i < 300; ++i) lines += fmt::format(R"({{"requestId":"denied-{}","templateId":"denied-template"}})", i) + "\n";
  daemon.drop("refused.jsonl", lines);
  daemon.start();
  ASSERT_TRUE(eventually([&] { return daemon.count_files("failed", ".outcome.jsonl") == 1; }, 60s))
      << read_file(daemon.log_file());
  EXPECT_EQ(daemon.stop(), 0);
  std::size_t per_request = 0, summaries = 0;
  for (const auto& line : read_lines(daemon.log_file())) {
    if (line.find(" failed at create: ") != std::string::npos) ++per_request;
    if (line.find("refused.jsonl: 0 submitted, 0 duplicate, 300 failed -> failed/") != std::string::npos) ++summaries;
  }
  EXPECT_GE(per_request, 1u);
  EXPECT_LE(per_request, 40u) << "at most a burst of 20 per 10 s";
  EXPECT_EQ(summaries, 1u) << read_file(daemon.log_file());
}
