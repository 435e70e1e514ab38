// Role: the outcome record of one request (a line of NAME.outcome.jsonl): writing it, adding
// the job's end ("final") to it, and reading it back. Everything that knows the record's JSON
// shape lives here, so the writer and its readers cannot drift apart.
// Records carry a format version ("v") so a later daemon can read what an older one wrote.
// Nothing secret goes in: no request body, no token, no key; error messages come from the API
// or from our own validation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/clock.hpp"

namespace submitd::spool {

inline constexpr int kOutcomeFormatVersion = 1;

enum class SubmitStatus { submitted, failed, duplicate };
std::string_view status_name(SubmitStatus s);

struct OutcomeError {
  std::string stage;  // validate, create, datasource, params, run
  int http_status = 0;  // 0: there was no HTTP status
  std::string message;
};

// An input uploaded for the request (issue 19's inputFile), by this run of the daemon.
struct UploadFigures {
  std::uint64_t bytes = 0;
  double seconds = 0;
};

struct OutcomeRecord {
  std::uint64_t line = 0;  // 0: the whole input (unreadable file)
  std::string request_id;
  std::string job_id;
  SubmitStatus status = SubmitStatus::failed;
  WallTime accepted_at{};
  WallTime finished_at{};
  int attempts = 0;
  std::optional<OutcomeError> error;
  std::vector<std::string> warnings;
  std::optional<UploadFigures> upload;  // "upload":{"bytes":N,"seconds":S}
};

// One JSON object followed by '\n'.
std::string outcome_json_line(const OutcomeRecord& r);

// --- The job's end, added by job following ---

struct ResultLink {
  std::string name;
  std::string link;  // a download URL: written to the outcome, never logged
  // Downloads (results.download_dir): where it was written and its size, or why it was not.
  std::string local_path;      // "" when not downloaded
  std::optional<std::uint64_t> bytes;
  std::string download_error;  // "" when none
};

// A job's end as the API reported it. Plain fields, so the spool needs no API types.
struct JobEnd {
  std::string state;          // e.g. JOB_STATE_COMPLETE; "" (written as null) when unknown
  std::string error_message;  // "" when none
  std::string ended_at;       // RFC 3339 as the API wrote it; "" when none
  std::optional<std::int64_t> duration_s;
  std::vector<ResultLink> results;
};

// The outcome's "final" object for a job that ended: state, errorMessage, endedAt,
// durationSeconds and results (name, link, and once downloaded localPath and bytes, or
// downloadError).
std::string final_json(const JobEnd& end);
// A "final" object read back (the journal keeps it while its results download); nullopt when
// it is not one final_json wrote.
std::optional<JobEnd> parse_final(std::string_view final_object);
// ... and for a job given up on: its last seen state ("" when never seen), why, no end time.
std::string gave_up_json(std::string_view last_state);

// The outcome line with "final" added (before its closing brace); the line as is when it is
// not a JSON object line or already has one. A trailing newline is kept.
std::string with_final(std::string_view outcome_line, std::string_view final_object);

// --- Reading a line back ---

// The largest "final" (minified) a reader passes on. Following writes a few kB at most, so a
// bigger one was not written by this daemon and is not copied into answers.
inline constexpr std::size_t kMaxFinalJsonBytes = 1024 * 1024;

// What the daemon's readers need from one outcome line. A member that is missing or of another
// JSON type reads as empty, so a damaged record means "not known" rather than an error.
struct ParsedOutcome {
  bool ok = false;  // the text is JSON; members are read only when it is an object
  std::uint64_t line = 0;
  std::string status;      // "submitted", "failed", "duplicate"; "" when absent
  std::string job_id;      // "" when null or absent
  std::string request_id;
  std::int64_t attempts = 0;
  std::optional<std::string> error_json;  // the "error" member minified, whatever its type
  bool has_final = false;   // "final" is an object: the job's end is recorded
  std::string final_state;  // its "state" when a string, else ""
  // The "final" object minified, only when it has a string "state" (the shape following
  // writes) and is at most kMaxFinalJsonBytes.
  std::optional<std::string> final_json;
};
// One line, with or without its trailing newline.
ParsedOutcome parse_outcome_line(std::string_view text);

}  // namespace submitd::spool
