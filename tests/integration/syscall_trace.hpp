// Role: reads `strace -ff -yy -s 4096` output (one file per thread) and checks the power-loss
// rules of the spool: a file written by the daemon is fsynced after its last write and
// before it is renamed into place, and both directories of every rename are fsynced after
// it. Plain text logic, so the rules are unit tested on made-up traces as well as checked on
// a real run (fsync_order_test.cpp).
#pragma once

#include <istream>
#include <string>
#include <vector>

namespace submitd::testing {

struct TraceEvent {
  enum class Kind { write, sync, rename };
  Kind kind;
  std::string path;  // the file written or synced, or the rename's source
  std::string to;    // the rename's target
};

// One thread's trace: writes (write, pwrite64, writev, pwritev), syncs (fsync, fdatasync) and
// successful renames (rename, renameat, renameat2) on absolute paths, in order. Failed calls
// and calls on anything but a path (sockets, pipes) are left out.
std::vector<TraceEvent> parse_thread_trace(std::istream& in);

// What breaks the rules in one thread's events, one sentence each; empty when all hold.
std::vector<std::string> durability_problems(const std::vector<TraceEvent>& events);

}  // namespace submitd::testing
