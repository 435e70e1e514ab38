// Role: bytenite-submit's queue commands (queue, hold, release, cancel, requeue, retry-now):
// each one request to the control socket, its answer printed for people or, with --json, as
// the daemon gave it; exit status from the common table (cli/exit_codes.hpp).
#pragma once

#include <string>

#include "submit_commands.hpp"

namespace submitd::cli_main {

int run_queue(const CliOptions& o);
// `verb`: hold, release, cancel or requeue; o.file names the file.
int run_file_action(const CliOptions& o, const std::string& verb);
int run_retry_now(const CliOptions& o);

}  // namespace submitd::cli_main
