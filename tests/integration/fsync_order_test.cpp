// Role: the power-loss promise checked on the system calls of a real run: the daemon is run
// under strace (every thread traced to its own file) through a short session that writes
// every kind of file it writes (claims, outcome and retry files, inputs placed in done/ and
// failed/, a posted file, the pause marker, the namespace UUID, the journal), and every
// rename must follow the rules of syscall_trace.hpp, on the timeline of all threads together.
// The rules themselves are tested first on made-up traces, so a checker that passes
// everything would be caught.
#include <signal.h>
#include <sys/types.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "ledger.hpp"
#include "syscall_trace.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace submitd::testing;

namespace {

std::vector<std::string> problems_of(const std::string& trace) {
  std::istringstream in(trace);
  return check_durability(parse_thread_trace(in)).problems;
}

// Two threads' traces, with timestamps, as one timeline.
DurabilityCheck check_threads(const std::string& first, const std::string& second) {
  std::istringstream a(first), b(second);
  return check_durability(merge_timelines({parse_thread_trace(a, 1), parse_thread_trace(b, 2)}));
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
  EXPECT_TRUE(check_durability(events).problems.empty());
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

// A directory synced only later than the next step that relies on the rename: a socket write
// (a 202, an API call), or moving the input out of active/ after its outcome.
TEST(SyscallTraceRules, TheDirectoryMustBeSyncedBeforeTheNextDependentStep) {
  const std::string claim =
      "renameat2(AT_FDCWD</>, \"/s/incoming/a.jsonl\", AT_FDCWD</>, \"/s/active/0123456789abcdef.a.jsonl\", "
      "RENAME_NOREPLACE) = 0\n";
  const std::string send = "sendmsg(9<TCP:[127.0.0.1:5->127.0.0.1:443]>, {msg_name=NULL}, MSG_NOSIGNAL) = 90\n";
  const std::string syncs = "fsync(5</s/active>) = 0\nfsync(6</s/incoming>) = 0\n";
  EXPECT_TRUE(problems_of(claim + syncs + send).empty());
  auto p = problems_of(claim + send + syncs);
  ASSERT_EQ(p.size(), 2u);  // both directories, each named
  EXPECT_NE(p[0].find("before the step after the rename"), std::string::npos) << p[0];
  // Outcome placed, then the input moved before done/ was synced.
  p = problems_of(
      "rename(\"/s/active/.c.outcome.tmp\", \"/s/done/a.jsonl.outcome.jsonl\") = 0\n"
      "rename(\"/s/active/0123456789abcdef.a.jsonl\", \"/s/done/a.jsonl\") = 0\n"
      "fsync(4</s/done>) = 0\nfsync(5</s/active>) = 0\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("directory /s/done not fsynced before the step after the rename /s/active/.c.outcome.tmp"),
            std::string::npos) << p[0];
  // A group commit: two outcomes placed, done/ synced, both inputs moved, then the syncs.
  EXPECT_TRUE(problems_of("rename(\"/s/active/.a.outcome.tmp\", \"/s/done/a.jsonl.outcome.jsonl\") = 0\n"
                          "rename(\"/s/active/.b.outcome.tmp\", \"/s/done/b.jsonl.outcome.jsonl\") = 0\n"
                          "fsync(4</s/done>) = 0\n"
                          "rename(\"/s/active/0123456789abcdef.a.jsonl\", \"/s/done/a.jsonl\") = 0\n"
                          "rename(\"/s/active/fedcba9876543210.b.jsonl\", \"/s/done/b.jsonl\") = 0\n"
                          "fsync(4</s/done>) = 0\nfsync(5</s/active>) = 0\n")
                  .empty());
}

// Threads: a file written on one thread and renamed on another still needs its fsync, and a
// claim journaled by the journal thread must be synced first, whichever thread claimed it.
TEST(SyscallTraceRules, RulesHoldAcrossThreads) {
  const std::string writer = "10.000001 write(3</s/state/.p.tmp>, \"x\", 1) = 1\n";
  const std::string renamer =
      "10.000002 rename(\"/s/state/.p.tmp\", \"/s/state/paused\") = 0\n10.000003 fsync(4</s/state>) = 0\n";
  auto check = check_threads(writer, renamer);
  ASSERT_EQ(check.problems.size(), 1u);
  EXPECT_NE(check.problems[0].find("without an fsync"), std::string::npos) << check.problems[0];

  const std::string claimer =
      "20.000001 renameat2(AT_FDCWD</>, \"/s/incoming/a.json\", AT_FDCWD</>, "
      "\"/s/active/0123456789abcdef.a.json\", RENAME_NOREPLACE) = 0\n"
      "20.000005 fsync(5</s/active>) = 0\n20.000006 fsync(6</s/incoming>) = 0\n";
  const std::string early = "20.000003 pwrite64(7</s/state/journal.sqlite-wal>, \"..0123456789abcdef..\", 4096, 0) = 4096\n";
  const std::string late = "20.000009 pwrite64(7</s/state/journal.sqlite-wal>, \"..0123456789abcdef..\", 4096, 0) = 4096\n";
  check = check_threads(claimer, early);
  EXPECT_EQ(check.claims_journaled, 1);
  ASSERT_EQ(check.problems.size(), 2u);
  EXPECT_NE(check.problems[0].find("claim 0123456789abcdef journaled before /s/active"), std::string::npos)
      << check.problems[0];
  check = check_threads(claimer, late);
  EXPECT_EQ(check.claims_journaled, 1);
  EXPECT_TRUE(check.problems.empty()) << check.problems[0];
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
  daemon.set_wrapper({"/usr/bin/strace", "-f", "-ff", "-qq", "-ttt", "-yy", "-s", "4096", "-o",
                      (traces / "t").string(), "-e",
                      "trace=write,pwrite64,writev,pwritev,sendmsg,sendto,sendmmsg,fsync,fdatasync,rename,renameat,"
                      "renameat2"});
  daemon.drop("good.jsonl", request_line(1) + "\n" + request_line(2) + "\n");
  daemon.drop("mixed.jsonl", request_line(3) + "\n{\"templateId\": 7}\n");
  daemon.start();
  ASSERT_TRUE(eventually([&] { return unix_http(socket, "GET", "/healthz", "").status == 200; }, 30s))
      << read_file(daemon.log_file());
  // Posts from several clients at once, so that they share commits.
  constexpr int kPosts = 8;
  std::vector<std::thread> clients;
  std::vector<int> statuses(kPosts);
  for (int i = 0; i < kPosts; ++i) {
    clients.emplace_back([&, i] {
      statuses[static_cast<std::size_t>(i)] = unix_http(socket, "POST", "/v1/jobs", request_line(4 + i) + "\n").status;
    });
  }
  for (auto& t : clients) t.join();
  for (int status : statuses) EXPECT_EQ(status, 202);
  EXPECT_EQ(unix_http(socket, "POST", "/v1/pause", "").status, 200);
  EXPECT_EQ(unix_http(socket, "POST", "/v1/resume", "").status, 200);
  ASSERT_TRUE(eventually([&] {
    return daemon.count_files("done", ".outcome.jsonl") == 1 + kPosts &&
           daemon.count_files("failed", ".outcome.jsonl") == 1;
  }, 60s)) << read_file(daemon.log_file());
  // SIGTERM to the daemon itself (strace's child), then strace ends with it.
  std::string children = read_file("/proc/" + std::to_string(daemon.process()->pid()) + "/task/" +
                                   std::to_string(daemon.process()->pid()) + "/children");
  ASSERT_FALSE(children.empty());
  ::kill(static_cast<pid_t>(std::stol(children)), SIGTERM);
  ASSERT_EQ(daemon.process()->wait_exit(60s), 0) << read_file(daemon.log_file());

  std::vector<std::vector<TraceEvent>> threads;
  for (const auto& file : fs::directory_iterator(traces)) {
    std::ifstream in(file.path());
    threads.push_back(parse_thread_trace(in, static_cast<int>(threads.size())));
  }
  const std::vector<TraceEvent> timeline = merge_timelines(std::move(threads));
  const DurabilityCheck check = check_durability(timeline);
  const std::vector<std::string>& problems = check.problems;
  std::map<std::string, int> renames_into;  // by target directory name
  int journal_syncs = 0, socket_writes = 0;
  bool journal_written_after_last_sync = false;
  for (const auto& e : timeline) {
    if (e.kind == TraceEvent::Kind::send) ++socket_writes;
    if (e.kind == TraceEvent::Kind::rename) ++renames_into[fs::path(e.to).parent_path().filename().string()];
    if (e.path.ends_with("journal.sqlite-wal")) {
      if (e.kind == TraceEvent::Kind::sync) ++journal_syncs;
      journal_written_after_last_sync = e.kind == TraceEvent::Kind::write;
    }
  }
  for (const auto& p : problems) ADD_FAILURE() << p;
  // The run did place every kind of file (so the rules were not checked on nothing):
  // 2 claims + 8 posted files into active/; 9 outcomes + 9 inputs into done/; outcome, retry
  // file and input into failed/; the namespace UUID and the pause marker into state/.
  EXPECT_GE(renames_into["active"], 2 + kPosts);
  EXPECT_GE(renames_into["done"], 2 * (1 + kPosts));
  EXPECT_GE(renames_into["failed"], 3);
  EXPECT_GE(renames_into["state"], 2);
  // The claims of good.jsonl and mixed.jsonl and the posted files were each found journaled
  // (on the journal thread) after their syncs: the cross-thread rule was checked on them.
  EXPECT_GE(check.claims_journaled, 2 + kPosts);
  EXPECT_GT(socket_writes, 10);  // API calls and answers: the dependent steps were there to check
  // The journal's appends are covered by its own commits' syncs.
  EXPECT_GE(journal_syncs, 1);
  EXPECT_FALSE(journal_written_after_last_sync);
}
