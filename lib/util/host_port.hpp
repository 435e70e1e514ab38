// Role: the one parser for a "host[:port]" / "[v6-address][:port]" authority, shared by the
// config addresses (api.base_url, metrics.listen) and the proxy variables. It owns the shape:
// brackets, where the port starts, what an IPv6 literal is and the port's range. Which host
// names are acceptable, whether a port is required and the wording of each error stay with
// the callers, which know what the text was for and whom to tell.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace submitd {

enum class HostPortError {
  none,
  unclosed_bracket,    // "[" without a "]"
  not_ipv6,            // the text between "[" and "]" is not an IPv6 address
  text_after_bracket,  // "]" followed by something other than ":port"
  unbracketed_ipv6,    // more than one ':' outside brackets: an IPv6 address needs them
};

struct HostPort {
  HostPortError error = HostPortError::none;
  // Without brackets; may be empty (callers word that error). Set only when error is none,
  // except for not_ipv6, where it is the offending text between the brackets.
  std::string_view host;
  bool bracketed = false;  // written "[...]": host is a checked IPv6 address
  // The text after the port's ':' as written (may be empty); nullopt when there is no ':'.
  std::optional<std::string_view> port_text;
  // port_text as a number in [min_port, 65535]; nullopt when absent or not such a number.
  // A caller checks its host first and the port last, so `port_text && !port` is its cue.
  std::optional<std::uint16_t> port;

  bool ok() const { return error == HostPortError::none; }
};

// Splits `text` (nothing before the host: no scheme, no user info) and parses the port.
// min_port is 0 where 0 means "any free port" (a listen address), else 1.
HostPort parse_host_port(std::string_view text, std::uint16_t min_port);

// Decimal digits only (no sign, no spaces) with a value in [min_port, 65535].
std::optional<std::uint16_t> parse_port_number(std::string_view text, std::uint16_t min_port);

// A textual IPv6 address without brackets or zone, as inet_pton reads it ("::1", "fe80::1",
// "::ffff:10.0.0.1").
bool is_ipv6_address(std::string_view text);

}  // namespace submitd
