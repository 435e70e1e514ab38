// Role: taking files from incoming/ (the claim) and what the spool knows of a claimed file.
// A claim is one rename(2) into active/ under a name that carries a fresh claim id, so two
// claimers can never both win and the claim id (hence every jobId of the file) survives a
// crash in the file name itself. The claimed entry is only classified after the rename, with
// lstat, so a symlink or directory is recognized without ever being followed or read.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spool/spool_paths.hpp"
#include "util/clock.hpp"

namespace submitd::spool {

enum class InputKind { json, jsonl, unreadable };

// File names: NAME_MAX is 255 bytes, and a claim puts "<claim id>." (17 bytes) in front of the
// producer's name, so longer names cannot be claimed under their own name. Such a file is
// claimed under "<claim id>~<its first kShortenedNameBytes bytes>.name-too-long" (the '~' says
// so, across restarts) and fails with a reason.
constexpr std::size_t kNameMax = 255;
constexpr std::size_t kLongestClaimableName = kNameMax - 17;
constexpr std::size_t kShortenedNameBytes = 200;
constexpr std::string_view kShortenedNameSuffix = ".name-too-long";

// Whether `active_entry` (a name in active/) is a claim of the file dropped as `dropped_name`.
bool is_claim_of(std::string_view active_entry, const std::string& dropped_name);

struct ClaimedFile {
  std::string claim_id;       // 16 lower-case hex characters
  std::string original_name;  // as dropped into incoming/
  std::filesystem::path active_path;
  InputKind kind = InputKind::unreadable;
  std::string reject_reason;  // for unreadable inputs: why, for the outcome file
  bool recovered = false;     // found in active/ at start-up (a previous run was interrupted)
  WallTime arrived{};          // when it reached incoming/ (claimed or recovered: see claim_file)
  bool awaiting_jobs = false;  // its submissions ended; its outcome is held until its jobs end (following)
  bool name_shortened = false;  // its name was longer than kLongestClaimableName (see above)
};

std::string new_claim_id();
bool is_claim_id(std::string_view text);

// Claims incoming/<name> (a name too long to keep is shortened, see kNameMax). Returns
// nullopt when the file is gone (another claimer won). Throws std::system_error on other
// rename failures. The claimed file's modification time is set to the claim time: retention
// in done/ counts from there, whatever the producer set.
std::optional<ClaimedFile> claim_file(const SpoolPaths& paths, const std::string& name);

// Files left in active/ by an interrupted run, in claim order, to be worked again with
// their original claim ids. Hidden files (our temporaries) are removed.
std::vector<ClaimedFile> recover_claims(const SpoolPaths& paths);

// One pass over incoming/ (hidden names skipped): how many files wait, the `keep` oldest of
// them by modification time (oldest first: the producer's order), and when the longest-waiting
// one arrived. Arrival is the inode's change time, which the rename into incoming/ sets and a
// producer cannot set back (an old mtime is no reason to report a fresh drop as old). Memory is
// bounded by `keep` however many files wait. Names for which `passed_by` says true are counted
// but never kept: they must not take the place of files that can be claimed.
struct IncomingScan {
  std::size_t files = 0;
  std::vector<std::string> oldest;
  std::optional<WallTime> earliest_arrival;
};
IncomingScan scan_incoming(const SpoolPaths& paths, std::size_t keep,
                           const std::function<bool(std::string_view)>& passed_by = {});

// Classifies an entry in active/ by lstat and name (kind and reject reason).
void classify_claimed(ClaimedFile& file);

}  // namespace submitd::spool
