// Role: the end of a claimed file's life: its outcome records (and the failed requests' lines)
// are streamed to hidden temporaries in active/ while the file is worked, then fsynced and
// moved, with the input, into done/ or failed/ without ever overwriting anything there.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "spool/claim.hpp"
#include "spool/spool_paths.hpp"

namespace submitd::spool {

struct PlacedNames {
  std::filesystem::path input, outcome, retry;  // retry is empty when nothing failed
};

// The outcome file of an input placed in done/ or failed/ as `placed_name`.
std::string outcome_file_name(std::string_view placed_name);

class FinishedFileWriter {
 public:
  FinishedFileWriter(const SpoolPaths& paths, const ClaimedFile& file);
  ~FinishedFileWriter();
  FinishedFileWriter(const FinishedFileWriter&) = delete;
  FinishedFileWriter& operator=(const FinishedFileWriter&) = delete;

  // Outcome lines are gathered and written 8 KiB at a time (one write per line was a system
  // call per job); nothing is lost by that: until finish() or hold() the outcome file is a
  // temporary that a restart rebuilds from the journal. A refused write throws here or there.
  void add_outcome(std::string_view json_line);
  // The request exactly as given, one line (newlines inside a .json file become spaces,
  // which JSON treats alike), for STEM.retry.jsonl.
  void add_failed_request(std::string_view request_text);
  // A failure with nothing to retry as is (an unreadable input, a line over the size limit):
  // the input still goes to failed/.
  void note_failure() { any_failed_ = true; }

  // fsyncs and moves everything into done/ (no failures) or failed/. Throws on I/O errors,
  // leaving the input in active/ so it is worked again (same claim id, same jobIds).
  // The same as place_outcome(), fsync of the target, place_input(), fsync of both.
  PlacedNames finish();
  // finish() in two steps, so that many files share their directory fsyncs (a group commit:
  // submit/placer): the outcome (and retry) file synced and renamed into done/ or failed/;
  // then, once the target directory is synced, the input. The caller syncs the directories.
  PlacedNames place_outcome();
  // Writes what is pending and starts the writeback of the outcome (and retry) file without
  // waiting: a group commit starts every file's writeback first, so that the fsyncs of
  // place_outcome() that follow find the data on its way (one journal commit can then cover
  // many files). Only a hint: errors are left to the fsync.
  void start_writeback();
  // The fsync part of place_outcome(), on its own: a group commit runs many at once (the file
  // system's journal then commits them together). Not thread-safe for one writer; distinct
  // writers may sync on distinct threads.
  void sync_outcome();
  void place_input(const PlacedNames& names);

  // Job following: the submissions ended but the jobs run on. The outcome (and retry) file
  // is fsynced and kept in active/ under held_outcome_path()/held_retry_path(), beside the
  // input, until every job has ended; then a new writer adopts it (adopt_held_retry) and
  // finish() places all. A restart finds the held files there (see recover_claims).
  void hold();
  static std::filesystem::path held_outcome_path(const SpoolPaths& paths, const std::string& claim_id);
  static std::filesystem::path held_retry_path(const SpoolPaths& paths, const std::string& claim_id);
  // Takes over a held retry file, if there is one, as this writer's retry file.
  void adopt_held_retry();

 private:
  void append(int fd, std::string_view text, const std::filesystem::path& what);
  // The names in `dest`: variant 0 plain, 1 with the claim id.
  PlacedNames names_in(const std::filesystem::path& dest, int variant) const;
  // A recovered file whose outcome the crashed run had placed (found by its claim attribute):
  // those names, with this run's temporaries dropped.
  std::optional<PlacedNames> placed_before();
  void place_retry(const PlacedNames& names);  // the retry file, when there is one
  void write_pending_outcomes();

  const SpoolPaths& paths_;
  ClaimedFile file_;
  std::filesystem::path outcome_tmp_, retry_tmp_;
  int outcome_fd_ = -1;
  std::string pending_outcomes_;  // lines not yet written to outcome_fd_
  int retry_fd_ = -1;
  bool any_failed_ = false;
  bool has_retry_lines_ = false;
  bool retry_adopted_ = false;  // the retry temp is a held retry file taken over
};

}  // namespace submitd::spool
