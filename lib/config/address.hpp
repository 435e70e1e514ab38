// Role: parse the two network addresses of the config (api.base_url, metrics.listen) without
// a URL library, strictly: anything ambiguous is refused with a reason, not guessed at.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace submitd::config {

struct BaseUrl {
  std::string host;  // lower-cased; IPv6 literal without brackets
  uint16_t port = 443;
  std::string base_path;  // "" or "/a/b" (no trailing '/')
};

struct ListenAddress {
  std::string host;  // IPv6 literal without brackets
  uint16_t port = 0;
};

// Each returns the parsed value, or sets `why` (a reason to follow "key = value: ") and
// returns nullopt.
std::optional<BaseUrl> parse_base_url(std::string_view url, std::string& why);
std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string& why);

// A single URL path segment such as "customer": letters, digits, '.', '_', '~', '-'.
bool is_path_segment(std::string_view s);

}  // namespace submitd::config
