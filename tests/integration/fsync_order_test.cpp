// Role: the power-loss promise checked on the system calls of a real run: the daemon is run
// under strace (every thread traced to its own file) through a short session that writes
// every kind of file it writes (claims, outcome and retry files, inputs placed in done/ and
// failed/, a posted file, the pause marker, the namespace UUID, the journal), and every
// rename must follow the rules of syscall_trace.hpp. The rules themselves are tested first
// on made-up traces, so a checker that passes everything would be caught.
#include <signal.h>
#include <sys/types.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "harness.hpp"
#include "ledger.hpp"
#include "syscall_trace.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

std::vector<std::string> problems_of(const std::string& trace) {
  std::istringstream in(trace);
  return durability_problems(parse_thread_trace(in));
}

const char* kGood =
    "openat(AT_FDCWD</s>, \"/s/active/.c.outcome.tmp\", O_WRONLY|O_CREAT, 0640) = 7</s/active/.c.outcome.tmp>\n"
    "write(7</s/active/.c.outcome.tmp>, \"{\\\"v\\\":1} = 3\\n\", 10) = 10\n"
    "fsync(7</s/active/.c.outcome.tmp>) = 0\n"
    "close(7</s/active/.c.outcome.tmp>) = 0\n"
    "renameat2(AT_FDCWD</s>, \"/s/active/.c.outcome.tmp\", AT_FDCWD</s>, \"/s/done/a.jsonl.outcome.jsonl\", RENAME_NOREPLACE) = 0\n"
    "fsync(8</s/done>) = 0\n"
    "fsync(9</s/active>) = 0\n";

}  // namespace

TEST(SyscallTraceRules, AWellOrderedPlacementPasses) {
  std::istringstream in(kGood);
  auto events = parse_thread_trace(in);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[2].kind, TraceEvent::Kind::rename);
  EXPECT_EQ(events[2].to, "/s/done/a.jsonl.outcome.jsonl");
  EXPECT_TRUE(durability_problems(events).empty());
}

TEST(SyscallTraceRules, EachBrokenRuleIsReported) {
  const std::string rename_line =
      "rename(\"/s/state/.paused.tmp-1\", \"/s/state/paused\") = 0\n";
  // No fsync of the file before its rename.
  auto p = problems_of("write(3</s/state/.paused.tmp-1>, \"x\", 1) = 1\n" + rename_line + "fsync(4</s/state>) = 0\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("without an fsync"), std::string::npos) << p[0];
  // An fsync, but before the last write.
  p = problems_of("write(3</s/state/.paused.tmp-1>, \"x\", 1) = 1\nfsync(3</s/state/.paused.tmp-1>) = 0\n"
                  "pwrite64(3</s/state/.paused.tmp-1>, \"y\", 1, 1) = 1\n" + rename_line + "fsync(4</s/state>) = 0\n");
  ASSERT_EQ(p.size(), 1u);
  // The directory never synced after the rename (only before).
  p = problems_of("fsync(4</s/state>) = 0\n" + rename_line);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("directory /s/state not fsynced"), std::string::npos) << p[0];
  // A move between directories needs both synced after it.
  p = problems_of("renameat2(AT_FDCWD</>, \"/s/incoming/a.jsonl\", AT_FDCWD</>, \"/s/active/c.a.jsonl\", RENAME_NOREPLACE) = 0\n"
                  "fsync(5</s/active>) = 0\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("directory /s/incoming"), std::string::npos) << p[0];
  // A failed rename changes nothing and is not checked; sockets are not files.
  EXPECT_TRUE(problems_of("renameat2(AT_FDCWD</>, \"/s/a\", AT_FDCWD</>, \"/s/b\", RENAME_NOREPLACE) = -1 EEXIST (File exists)\n"
                          "write(6<TCP:[127.0.0.1:1->127.0.0.1:2]>, \"x\", 1) = 1\n").empty());
}

class FsyncOrder : public TempDirTest {
 protected:
  FsyncOrder() : TempDirTest("fsync-order") {}
};

TEST_F(FsyncOrder, EveryFileTheDaemonPlacesIsSyncedBeforeItsRenameAndItsDirectoriesAfter) {
  ASSERT_TRUE(fs::exists("/usr/bin/strace")) << "strace is installed by deploy/install-deps.sh";
  const fs::path dir = dir_;
  Emulator emulator(dir / "emulator");
  const fs::path socket = dir / "control.sock";
  DaemonUnderTest daemon(dir / "daemon", emulator, "\n[control]\nsocket = \"" + socket.string() + "\"\n");
  const fs::path traces = dir / "trace";
  fs::create_directories(traces);
  // LeakSanitizer cannot run under ptrace and would fail the exit of a sanitizer build; the
  // leak check is the other tests' job.
  daemon.set_env("ASAN_OPTIONS", "detect_leaks=0");
  daemon.set_wrapper({"/usr/bin/strace", "-f", "-ff", "-qq", "-yy", "-s", "4096", "-o", (traces / "t").string(),
                      "-e", "trace=write,pwrite64,writev,pwritev,fsync,fdatasync,rename,renameat,renameat2"});
  daemon.drop("good.jsonl", request_line(1) + "\n" + request_line(2) + "\n");
  daemon.drop("mixed.jsonl", request_line(3) + "\n{\"templateId\": 7}\n");
  daemon.start();
  ASSERT_TRUE(eventually([&] { return unix_http(socket, "GET", "/healthz", "").status == 200; }, 30s))
      << read_file(daemon.log_file());
  EXPECT_EQ(unix_http(socket, "POST", "/v1/jobs", request_line(4) + "\n").status, 202);
  EXPECT_EQ(unix_http(socket, "POST", "/v1/pause", "").status, 200);
  EXPECT_EQ(unix_http(socket, "POST", "/v1/resume", "").status, 200);
  ASSERT_TRUE(eventually([&] {
    return daemon.count_files("done", ".outcome.jsonl") == 2 && daemon.count_files("failed", ".outcome.jsonl") == 1;
  }, 60s)) << read_file(daemon.log_file());
  // SIGTERM to the daemon itself (strace's child), then strace ends with it.
  std::string children = read_file("/proc/" + std::to_string(daemon.process()->pid()) + "/task/" +
                                   std::to_string(daemon.process()->pid()) + "/children");
  ASSERT_FALSE(children.empty());
  ::kill(static_cast<pid_t>(std::stol(children)), SIGTERM);
  ASSERT_EQ(daemon.process()->wait_exit(60s), 0) << read_file(daemon.log_file());

  std::vector<std::string> problems;
  std::map<std::string, int> renames_into;  // by target directory name
  int journal_syncs = 0;
  bool journal_written_after_last_sync = false;
  for (const auto& file : fs::directory_iterator(traces)) {
    std::ifstream in(file.path());
    auto events = parse_thread_trace(in);
    for (auto& p : durability_problems(events)) problems.push_back(file.path().filename().string() + ": " + p);
    for (const auto& e : events) {
      if (e.kind == TraceEvent::Kind::rename) ++renames_into[fs::path(e.to).parent_path().filename().string()];
      if (e.path.ends_with("journal.sqlite-wal")) {
        if (e.kind == TraceEvent::Kind::sync) ++journal_syncs;
        journal_written_after_last_sync = e.kind == TraceEvent::Kind::write;
      }
    }
  }
  for (const auto& p : problems) ADD_FAILURE() << p;
  // The run did place every kind of file (so the rules were not checked on nothing):
  // 2 claims + 1 posted file into active/; 2 outcomes + 2 inputs into done/; outcome, retry
  // file and input into failed/; the namespace UUID and the pause marker into state/.
  EXPECT_GE(renames_into["active"], 3);
  EXPECT_GE(renames_into["done"], 4);
  EXPECT_GE(renames_into["failed"], 3);
  EXPECT_GE(renames_into["state"], 2);
  // The journal's appends are covered by its own commits' syncs.
  EXPECT_GE(journal_syncs, 1);
  EXPECT_FALSE(journal_written_after_last_sync);
}
