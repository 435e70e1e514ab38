// Role: queue control's decisions, as plain logic: which file an operator's FILE|CLAIM
// argument names (a claim id, a name as dropped, or a path whose last part is one of them),
// what hold, release and cancel do to a file in each state, and which names requeue takes.
// The engine carries the decisions out.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spool/queue_report.hpp"

namespace submitd::submit {

struct FileKey {
  enum class Kind {
    known,        // `file` is the file meant
    maybe_incoming,  // no file in active/ by that name: incoming/<name> may hold it
    ambiguous,    // several files in active/ by that name: `message` lists their claim ids
    bad,          // not a file name at all
  } kind = Kind::bad;
  const spool::QueuedFile* file = nullptr;
  std::string name;     // for maybe_incoming: the name to look for in incoming/
  std::string message;  // for ambiguous and bad
};
// `files`: the files in active/ (being worked, held or followed).
FileKey resolve_file_key(std::string_view key, const std::vector<spool::QueuedFile>& files);

enum class FileVerb { hold, release, cancel };
enum class FileStep {
  claim_then_act,   // an incoming file: claim it (its claim id fixes its jobIds), then act
  act,              // change its control (and start it or wake its requests)
  nothing,          // already so: done, said plainly
  refuse,           // not possible: conflict, with the reason
};
struct FilePlan {
  FileStep step = FileStep::refuse;
  std::string message;
};
// What `verb` does to a file in `state`. `abort_running`: cancel also aborts started jobs.
FilePlan plan_file_action(FileVerb verb, spool::QueuedFileState state, bool abort_running);

// The retry file requeue takes: "failed/NAME.retry.jsonl" or "NAME.retry.jsonl" (any
// directory part must be failed/). The file name, or nullopt with `why` set.
std::optional<std::string> requeue_name(std::string_view path, std::string& why);

}  // namespace submitd::submit
