// Role: locate and read the API key (see api_key.hpp). Messages name places, never content.
#include "config/api_key.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "config/load.hpp"
#include "config/small_file.hpp"
#include "util/header_text.hpp"

namespace submitd::config {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kEnvKey = "BYTENITE_API_KEY";
constexpr std::string_view kCredentialsDir = "CREDENTIALS_DIRECTORY";
constexpr size_t kMaxKeyFileBytes = 64 * 1024;  // a key is short; refuse a wrong path early

struct Source {
  enum Kind { file, credential, environment, packaged, none } kind = none;
  fs::path path;  // for file and credential
};

std::optional<std::string> non_empty(const EnvLookup& env, std::string_view name) {
  auto v = env(name);
  if (v && v->empty()) return std::nullopt;
  return v;
}

Source find_source(const ApiSettings& api, const EnvLookup& env, const fs::path& packaged) {
  if (api.api_key_file) return {Source::file, *api.api_key_file};
  if (auto dir = non_empty(env, kCredentialsDir)) {
    fs::path p = fs::path(*dir) / "api_key";
    std::error_code ec;
    if (fs::exists(p, ec)) return {Source::credential, p};
  }
  if (non_empty(env, kEnvKey)) return {Source::environment, {}};
  std::error_code ec;
  if (!packaged.empty() && fs::exists(packaged, ec)) return {Source::packaged, packaged};
  return {};
}

std::string describe(const Source& src) {
  switch (src.kind) {
    case Source::file:
      return "file " + src.path.string() + " (api.api_key_file)";
    case Source::credential:
      return "systemd credential " + src.path.string();
    case Source::environment:
      return "environment variable " + std::string(kEnvKey);
    case Source::packaged:
      return "file " + src.path.string() + " (the package's credential file)";
    case Source::none:
      break;
  }
  return "none found";
}

std::string read_key_file(const fs::path& path, const std::string& where) {
  SmallFileRead file = read_small_regular_file(path, kMaxKeyFileBytes);
  if (file.too_large) {
    throw ConfigError("the API key in " + where + " is larger than 64 KiB: wrong file?");
  }
  if (!file.ok()) throw ConfigError("cannot read the API key from " + where + ": " + file.error);
  return std::move(file.text);
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Trim, then refuse what cannot be a key: it travels in an HTTP request, so whitespace or a
// control character inside would corrupt (or inject into) that request.
std::string clean_key(std::string key, const std::string& where) {
  while (!key.empty() && is_space(key.back())) key.pop_back();
  size_t start = 0;
  while (start < key.size() && is_space(key[start])) ++start;
  key.erase(0, start);
  if (key.empty()) throw ConfigError("the API key from " + where + " is empty");
  if (!is_single_token(key))
    throw ConfigError("the API key from " + where +
                      " contains whitespace or control characters inside it; expected one token");
  return key;
}

}  // namespace

EnvLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
}

std::string load_api_key(const ApiSettings& api, const EnvLookup& env, const fs::path& packaged) {
  Source src = find_source(api, env, packaged);
  std::string where = describe(src);
  switch (src.kind) {
    case Source::file:
    case Source::credential:
    case Source::packaged:
      return clean_key(read_key_file(src.path, where), where);
    case Source::environment:
      return clean_key(env(kEnvKey).value_or(""), where);
    case Source::none:
      break;
  }
  std::string looked = "no API key found: api.api_key_file is not set; ";
  if (auto dir = non_empty(env, kCredentialsDir))
    looked += (fs::path(*dir) / "api_key").string() + " does not exist; ";
  else
    looked += "$" + std::string(kCredentialsDir) + " is not set; ";
  looked += "$" + std::string(kEnvKey) + " is not set";
  if (!packaged.empty()) looked += "; " + packaged.string() + " does not exist";
  throw ConfigError(looked);
}

std::string describe_api_key_source(const ApiSettings& api, const EnvLookup& env, const fs::path& packaged) {
  return describe(find_source(api, env, packaged));
}

}  // namespace submitd::config
