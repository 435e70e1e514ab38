// Role: `bytenite-submit wait FILE|REQUEST_ID` as plain decisions its tests call directly:
// whether the argument names a file or a request, and whether what was looked at says it has
// ended (with the exit status it ends with) or is still to be waited for. The polling loop
// (how often, how long) is the command's.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "cli/control_client.hpp"

namespace submitd::cli {

// A FILE when it has a '/' or ends in .json or .jsonl (the names the spool takes); else a
// requestId.
bool names_a_file(std::string_view argument);

struct WaitVerdict {
  bool ended = false;
  int exit_code = 0;  // when ended: 0 submitted or duplicate (or a file done), 1 failed or unknown, 2/75 as exit_codes.hpp
  std::string line;   // what to print when ended (the request's JSON, or where the file's outcome is)
};

// The daemon's answer to GET /v1/jobs/{requestId}: ended once its state is an outcome
// (submitted, duplicate, failed), not one of a request still worked (queued, submitting,
// deferred, paused, held); a 404 ends it (unknown, exit 1); no answer or a 503 also end it,
// with 2 or 75, since waiting on a daemon that is not there would not end either.
WaitVerdict request_verdict(const ControlReply& reply);

// A file dropped as `name` into `spool`: ended once its outcome file is in done/ (exit 0) or
// failed/ (exit 1), or when it is nowhere in the spool (exit 1). (A second drop of a name
// still in the spool is renamed with its claim id: wait on its requestIds instead.)
WaitVerdict file_verdict(const std::filesystem::path& spool, const std::string& name);

}  // namespace submitd::cli
