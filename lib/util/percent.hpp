// Role: hex digits and the one %XX (RFC 3986 percent-encoding) decoder, for proxy credentials in
// https_proxy and requestIds in control-socket paths. Strict: a broken escape is an error,
// never passed through as text, so a caller's checks always see the decoded bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace submitd {

// The value of one hex digit (either case), or -1.
inline int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes every "%XX" (X a hex digit, either case) in `text` to its byte; other bytes are
// copied as they are ('+' stays '+': that is form encoding, not URL encoding). "%00" decodes
// to a NUL byte, so callers that hand the result to C APIs or logs check it themselves.
// nullopt: a '%' not followed by two hex digits (including one cut off by the end).
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace submitd
