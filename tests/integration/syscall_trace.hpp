// Role: reads `strace -ff -ttt -yy -s 4096` output (one file per thread), merges the threads
// into one timeline, and checks the power-loss rules of the spool on it:
//  - a file is fsynced after its last write (by any thread) and before it is renamed;
//  - both directories of every rename are fsynced after it (eventually);
//  - before a thread takes a step that relies on an earlier rename of its own (a write to a
//    socket, a journal write, or moving an input out of active/ after placing an outcome), the
//    rename is synced: the target directory, and the source directory unless the source was a
//    hidden temporary;
//  - a file claimed into active/ (from incoming/ or posted) is synced before any thread
//    journals a request of it (a journal write that holds its claim id).
// Plain text logic, so the rules are unit tested on made-up traces as well as checked on a
// real run (fsync_order_test.cpp).
#pragma once

#include <istream>
#include <string>
#include <vector>

namespace submitd::testing {

struct TraceEvent {
  enum class Kind { write, sync, rename, send };
  Kind kind;
  std::string path;  // the file written or synced, or the rename's source; the socket sent on
  std::string to;    // the rename's target
  std::string data;  // what a write wrote (as strace shows it), for finding claim ids
  double at = 0;     // seconds (strace -ttt); 0 without timestamps
  int thread = 0;
};

// One thread's trace: writes (write, pwrite64, writev, pwritev) and syncs (fsync, fdatasync)
// on paths, writes to sockets (write, writev, sendmsg, sendto, sendmmsg) and successful renames
// (rename, renameat, renameat2), in order. Failed calls, pipes and other descriptors are left out.
std::vector<TraceEvent> parse_thread_trace(std::istream& in, int thread = 0);

// The threads' events as one timeline, by time (a thread's own order is kept).
std::vector<TraceEvent> merge_timelines(std::vector<std::vector<TraceEvent>> threads);

struct DurabilityCheck {
  std::vector<std::string> problems;  // what breaks the rules, one sentence each
  int claims_journaled = 0;           // claims whose first journal write was found (and checked)
};
DurabilityCheck check_durability(const std::vector<TraceEvent>& events);

}  // namespace submitd::testing
