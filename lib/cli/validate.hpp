// Role: `bytenite-submit validate`: checks input files offline with the daemon's own reader
// and validator (spool::InputReader), so it refuses exactly what the daemon would refuse,
// in the same words, without sending anything anywhere.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "spool/input_file.hpp"

namespace submitd::cli {

struct ValidationReport {
  std::size_t requests = 0;  // requests the daemon would accept
  std::size_t refused = 0;   // requests (or whole files) it would refuse
  std::vector<std::string> problems;  // "FILE: why", one per refusal
  std::vector<std::string> warnings;  // "FILE: line N: ..." (unknown fields and the like)
};

// Adds what the daemon would make of `file` to `report`.
// A request's inputFile is checked by `input_rules` (the daemon's upload.* settings).
void validate_input(const std::filesystem::path& file, std::uint64_t max_request_bytes,
                    const spool::InputFileRules& input_rules, ValidationReport& report);

}  // namespace submitd::cli
