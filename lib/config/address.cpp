// Role: strict parsers for api.base_url and metrics.listen (see address.hpp).
#include "config/address.hpp"

#include <algorithm>

#include "util/host_port.hpp"

namespace submitd::config {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// A DNS name or IPv4 address: labels of letters, digits and '-', separated by single dots.
bool is_host_name(std::string_view h) {
  if (h.empty() || h.front() == '.' || h.back() == '.' || h.find("..") != h.npos) return false;
  return std::all_of(h.begin(), h.end(),
                     [](char c) { return is_alnum(c) || c == '-' || c == '.'; });
}

// RFC 3986 pchar minus percent-decoding subtleties: unreserved, sub-delims, ':', '@', "%XX".
bool is_path_chars(std::string_view seg) {
  for (size_t i = 0; i < seg.size(); ++i) {
    char c = seg[i];
    if (is_alnum(c) || std::string_view("-._~!$&'()*+,;=:@").find(c) != std::string_view::npos)
      continue;
    if (c == '%' && i + 2 < seg.size() && is_hex(seg[i + 1]) && is_hex(seg[i + 2])) {
      i += 2;
      continue;
    }
    return false;
  }
  return true;
}

// Splits "host:port" / "[v6]:port" (util/host_port.hpp); nullopt with `why` set when the
// shape is wrong. Host and port checks are left to the caller, which words them.
std::optional<HostPort> split_authority(std::string_view authority, std::uint16_t min_port,
                                        std::string& why) {
  HostPort parts = parse_host_port(authority, min_port);
  switch (parts.error) {
    case HostPortError::none: return parts;
    case HostPortError::unclosed_bracket: why = "unterminated '[' of an IPv6 address"; break;
    case HostPortError::not_ipv6: why = "not a valid IPv6 address between '[' and ']'"; break;
    case HostPortError::text_after_bracket:
      why = "unexpected text after ']' (expected ':port')";
      break;
    case HostPortError::unbracketed_ipv6:
      why = "an IPv6 address must be written in brackets, e.g. [::1]";
      break;
  }
  return std::nullopt;
}

}  // namespace

bool is_path_segment(std::string_view s) {
  if (s.empty() || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '~' || c == '-';
  });
}

std::optional<BaseUrl> parse_base_url(std::string_view url, std::string& why) {
  constexpr std::string_view kHttps = "https://";
  size_t sep = url.find("://");
  if (sep == url.npos) {
    why = "must be an https:// URL, e.g. https://api.bytenite.com/v1";
    return std::nullopt;
  }
  std::string scheme(url.substr(0, sep));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), lower);
  if (scheme != "https") {
    why = "must use https (TLS with verification is the only way the API key is sent)";
    return std::nullopt;
  }
  std::string_view rest = url.substr(kHttps.size());
  if (rest.find('#') != rest.npos) {
    why = "must not have a fragment ('#...')";
    return std::nullopt;
  }
  if (rest.find('?') != rest.npos) {
    why = "must not have a query ('?...')";
    return std::nullopt;
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == rest.npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != authority.npos) {
    why = "must not contain user info ('user@'); the API key belongs in api.api_key_file";
    return std::nullopt;
  }
  auto parts = split_authority(authority, 1, why);
  if (!parts) return std::nullopt;
  if (parts->host.empty()) {
    why = "must have a host, e.g. https://api.bytenite.com/v1";
    return std::nullopt;
  }
  if (!parts->bracketed && !is_host_name(parts->host)) {
    why = "the host must be a DNS name, an IPv4 address or a bracketed IPv6 address";
    return std::nullopt;
  }
  BaseUrl out;
  out.host.assign(parts->host);
  std::transform(out.host.begin(), out.host.end(), out.host.begin(), lower);
  if (parts->port_text) {
    if (!parts->port) {
      why = "the port must be a number between 1 and 65535";
      return std::nullopt;
    }
    out.port = *parts->port;
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);  // "/v1/" means "/v1"
  // Check each segment: no empty, "." or ".." segments, only URL path characters.
  for (std::string_view p = path; !p.empty();) {
    p.remove_prefix(1);  // the '/'
    std::string_view seg = p.substr(0, p.find('/'));
    if (seg.empty() || seg == "." || seg == ".." || !is_path_chars(seg)) {
      why = "the path must be '/'-separated segments of URL path characters, e.g. /v1";
      return std::nullopt;
    }
    p.remove_prefix(seg.size());
  }
  out.base_path.assign(path);
  return out;
}

std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string& why) {
  constexpr const char* kExpected = "expected host:port or [v6-address]:port, e.g. 127.0.0.1:9464";
  auto parts = split_authority(text, 0, why);
  if (!parts) return std::nullopt;
  if (!parts->port_text) {
    why = std::string("missing port: ") + kExpected;
    return std::nullopt;
  }
  if (parts->host.empty()) {
    why = std::string("missing host (use 0.0.0.0 or [::] for all interfaces): ") + kExpected;
    return std::nullopt;
  }
  if (!parts->bracketed && !is_host_name(parts->host)) {
    why = std::string("not a valid host: ") + kExpected;
    return std::nullopt;
  }
  if (!parts->port) {
    why = "the port must be a number between 0 and 65535";
    return std::nullopt;
  }
  return ListenAddress{std::string(parts->host), *parts->port};
}

}  // namespace submitd::config
