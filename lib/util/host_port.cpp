// Role: host:port splitting and port parsing (see host_port.hpp).
#include "util/host_port.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <string>

namespace submitd {

std::optional<std::uint16_t> parse_port_number(std::string_view text, std::uint16_t min_port) {
  // Digits only (no sign, space or "0x"), said outright rather than left to from_chars.
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min_port || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

bool is_ipv6_address(std::string_view text) {
  // inet_pton wants a NUL-terminated string; an address is at most 45 characters.
  if (text.empty() || text.size() > 64) return false;
  std::string copy(text);
  unsigned char bytes[16];
  return ::inet_pton(AF_INET6, copy.c_str(), bytes) == 1;
}

HostPort parse_host_port(std::string_view text, std::uint16_t min_port) {
  HostPort out;
  std::string_view host;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      out.error = HostPortError::unclosed_bracket;
      return out;
    }
    host = text.substr(1, close - 1);
    // The address is checked before what follows it: "[bad]x" is reported as a bad address.
    if (!is_ipv6_address(host)) {
      out.error = HostPortError::not_ipv6;
      out.host = host;
      return out;
    }
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        out.error = HostPortError::text_after_bracket;
        return out;
      }
      out.port_text = rest.substr(1);
    }
    out.bracketed = true;
  } else {
    const std::size_t colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      out.error = HostPortError::unbracketed_ipv6;
      return out;
    }
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) out.port_text = text.substr(colon + 1);
  }
  out.host = host;
  if (out.port_text) out.port = parse_port_number(*out.port_text, min_port);
  return out;
}

}  // namespace submitd
