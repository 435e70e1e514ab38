// Role: `bytenite-submit abort REQUEST_ID` as plain functions its tests call directly: the
// requestId check, the path it is sent in, and what the daemon's answer to
// POST /v1/jobs/{requestId}/abort means for a person (the line to print) and for a script
// (the exit code: 0 taken, 1 nothing to abort, 2 could not ask, 75 the daemon was busy).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "cli/control_client.hpp"

namespace submitd::cli {

// Whether `id` can be a requestId (1 to 128 of A-Z a-z 0-9 . _ : -, as the daemon's parser says).
bool is_request_id(std::string_view id);

// `text` as one URL path segment: every byte but A-Z a-z 0-9 - . _ ~ : percent-encoded, so no
// input can add a path level, a query or a space to the request line.
std::string path_segment(std::string_view text);

struct AbortReport {
  int exit_code = 2;  // 0 the abort was taken, 1 unknown or already ended, 2 could not ask, 75 busy (503)
  std::string out;    // the line for stdout (no newline), when the abort was taken
  std::string err;    // the line for stderr (no program prefix, no newline), otherwise
};

// What the daemon's `reply` to aborting `request_id` means.
AbortReport describe_abort_reply(std::string_view request_id, const ControlReply& reply);

// Asks the daemon behind `socket` to abort `request_id` and describes its answer (an invalid
// requestId is refused here, exit 2, without asking).
AbortReport abort_request(const std::filesystem::path& socket, const std::string& request_id);

}  // namespace submitd::cli
