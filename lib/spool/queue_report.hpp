// Role: what `bytenite-submit queue` shows: every file waiting in incoming/ or worked from
// active/, with its requests by state. Filled by the engine (the parts that know), rendered
// by the control socket: one shape for both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "spool/spool_paths.hpp"
#include "util/clock.hpp"

namespace submitd::spool {

enum class QueuedFileState {
  incoming,    // in incoming/, not claimed yet
  held,        // on hold: nothing of it goes to the API until release
  working,     // being read and submitted
  cancelling,  // cancelled: its requests not yet run end failed
  following,   // every request ended; its jobs are followed to their end
};
std::string_view queued_file_state_name(QueuedFileState s);

struct QueuedFile {
  std::string claim_id;  // empty in incoming/
  std::string name;      // as dropped
  QueuedFileState state = QueuedFileState::incoming;
  WallTime arrived{};    // zero: not known
  std::uint64_t bytes = 0;
  std::uint64_t bytes_read = 0;  // of a file being worked
  // Accepted requests now: waiting (for a place, a rate permit, a pause or the file's hold),
  // at the API, and waiting to retry (the soonest retry: when and why).
  std::size_t waiting = 0, in_flight = 0, deferred = 0;
  WallTime next_retry{};
  std::string next_retry_reason;
  std::size_t submitted = 0, failed = 0;  // outcomes written so far (this run)
  std::size_t following = 0;              // its jobs followed now
};

struct QueueReport {
  std::vector<QueuedFile> files;  // incoming/ first (oldest first), then active/ by claim
  std::size_t incoming_total = 0;  // files in incoming/; `files` names at most the limit asked
};

// A claimed file's entry (claim id, name, arrival) in the given state; the parts that know
// more fill in the rest.
struct ClaimedFile;
QueuedFile queued_file(const ClaimedFile& file, QueuedFileState state);

// The files of incoming/, at most `limit` (the oldest), with size and arrival; returns how
// many there are in all. Throws std::system_error when incoming/ cannot be read.
std::size_t list_incoming(const SpoolPaths& paths, std::size_t limit, std::vector<QueuedFile>& out);

}  // namespace submitd::spool

namespace submitd::spool {

// What became of an operator's action on one file (hold, release, cancel, requeue).
struct FileActionResult {
  enum class Kind {
    done,       // 200
    unknown,    // no such file (404)
    conflict,   // not possible for the file as it is (409), or ambiguous (several files by that name)
    bad_input,  // not a name this action takes (400)
    failed,     // the daemon could not do it now: state not writable, rename failed (503)
  } kind = Kind::done;
  std::string claim_id;
  std::string name;
  std::string message;  // for a person: what happens now, or why nothing can
};

}  // namespace submitd::spool
