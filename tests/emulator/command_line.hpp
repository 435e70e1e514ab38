// CommandLine: the emulator's options, parsed and checked before anything starts, so a bad
// flag is reported with its name and value instead of surfacing later as odd behaviour.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "account_limit.hpp"
#include "fault_plan.hpp"

namespace emulator {

struct CommandLine {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;  // 0: the kernel picks a free port
  std::uint16_t storage_port = 0;  // the storage endpoint's; 0: the kernel picks
  int threads = 2;
  std::string cert_dir;   // where a generated ca.pem goes; empty: a fresh mkdtemp directory
  std::string cert_file;  // PEM chain to serve instead of a generated one (with key_file)
  std::string key_file;
  std::string hostname = "localhost";  // SAN DNS name of the generated server certificate
  std::vector<std::string> api_keys;
  std::string api_key_file;
  std::string customer_path = "customer";
  std::int64_t job_duration_ms = 2000;
  std::int64_t result_bytes = 1024;
  std::int64_t token_lifetime_s = 3600;
  std::int64_t idle_timeout_s = 60;
  FaultKnobs faults;
  AccountLimitKnobs account_limit;
  std::optional<std::uint64_t> seed;
  std::string ready_file;
  bool quiet = false;
  bool help = false;
};

struct ParsedCommandLine {
  std::optional<CommandLine> options;
  std::string error;  // set when options is empty
};

// args excludes the program name.
ParsedCommandLine parse_command_line(const std::vector<std::string>& args);
std::string usage();

}  // namespace emulator
