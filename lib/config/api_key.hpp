// Role: find and read the ByteNite API key. It lives outside the config file on purpose
// (systemd LoadCredential=, a 0600 file, or the environment), so the config can be world-
// readable. Errors and log lines say where the key was looked for, never what it is.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/settings.hpp"

namespace submitd::config {

// Looks up an environment variable; injected so tests need not touch the real environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// The process environment (getenv). An empty variable counts as unset.
EnvLookup process_environment();

// The file the package's unit hands to the daemon as its credential (LoadCredential=): read
// directly when no credential is given, e.g. by `--check-config` outside systemd.
inline const std::filesystem::path kPackagedApiKeyFile = "/etc/bytenite-submitd/api_key";

// The key, from the first of: api.api_key_file (if set); $CREDENTIALS_DIRECTORY/api_key (if the
// variable is set and the file exists); $BYTENITE_API_KEY; `packaged` (if it exists).
// Surrounding whitespace (a trailing newline) is trimmed. Throws ConfigError naming the
// place(s) looked at when the key is missing, empty, unreadable, or contains whitespace/control
// characters (it goes into a header).
std::string load_api_key(const ApiSettings& api, const EnvLookup& env,
                         const std::filesystem::path& packaged = kPackagedApiKeyFile);

// For logs: which source load_api_key would use, e.g. "file /etc/bytenite-submitd/api_key",
// "systemd credential /run/credentials/x.service/api_key", "environment variable
// BYTENITE_API_KEY", or "none found". Never the key itself.
std::string describe_api_key_source(const ApiSettings& api, const EnvLookup& env,
                                    const std::filesystem::path& packaged = kPackagedApiKeyFile);

}  // namespace submitd::config
