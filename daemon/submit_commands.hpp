// Role: what each bytenite-submit command does once its command line is parsed (the parsing
// is bytenite_submit.cpp's, with CLI11): finding the control socket and the spool, calling
// lib/cli, printing for people or, with --json, for scripts, and the exit status
// (cli/exit_codes.hpp: 0 done, 1 refused or failed, 2 usage or daemon unreachable, 75 busy).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/load.hpp"

namespace submitd::cli_main {

struct CliOptions {
  std::string config = config::kDefaultConfigFile;
  bool config_given = false;
  std::optional<std::filesystem::path> spool;
  std::optional<std::filesystem::path> socket;
  bool drop = false;   // submit: by a spool drop even with a socket
  bool json = false;   // submit, validate: one JSON object per line instead of text
  bool quiet = false;  // submit: only problems, no per-request lines, no summary
  std::vector<std::string> files;  // submit, validate
  std::string request_id;          // status (optional), abort
  std::string wait_for;            // wait: a FILE or a REQUEST_ID
  double timeout_s = 0;            // wait: give up after this long (0: never)
  std::string file;                // hold, release, cancel: FILE|CLAIM; requeue: the retry file
  bool abort_running = false;      // cancel: abort the file's started jobs too
  std::size_t limit = 1000;        // queue: list at most this many files of incoming/
};

// The control socket a command needs; nullopt after telling how to give one.
std::optional<std::filesystem::path> control_socket_for(const CliOptions& o, const std::string& command);

int run_validate(const CliOptions& o);
int run_submit(const CliOptions& o);
int run_status(const CliOptions& o);
int run_pause_or_resume(const CliOptions& o, bool pause);
int run_abort(const CliOptions& o);
int run_wait(const CliOptions& o);

}  // namespace submitd::cli_main
