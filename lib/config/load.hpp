// Role: turn TOML configuration text into Settings, refusing anything doubtful at start-up.
// Unknown keys and tables are errors (a typo must not silently fall back to a default), and
// every error names the origin, the key, the value and why, so `--check-config` output is
// enough to fix the file.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.hpp"

namespace submitd::config {

// A configuration the daemon refuses. what() is one line, e.g.
//   "/etc/bytenite-submitd/config.toml:7: api.connections = 0: must be between 1 and 1024".
// It never holds a secret (the loader reads no key material; see api_key.hpp).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where both programs look for the configuration when not told (the package installs it there).
inline constexpr const char* kDefaultConfigFile = "/etc/bytenite-submitd/config.toml";

// Reads and parses a config file. Errors reading it name the file and the OS reason.
Settings load_settings_file(const std::filesystem::path& file);

// Parses TOML text. `origin` (a file name, "<test>") prefixes every error message.
// Side effect: checks that api.ca_file, when set, is a readable regular file.
Settings parse_settings(std::string_view toml, std::string_view origin);

// Every documented key as "table.key" (e.g. "api.base_url"), in documentation order.
std::vector<std::string> known_keys();

}  // namespace submitd::config
