// Role: what text may go into an HTTP request as is. A control character (CR, LF above all)
// in a request line or header value would end it or add a header of its own; the API key and
// the access token are single tokens, so whitespace is refused there too. One definition for
// the key (config), the token grant (API responses) and the request writer.
#pragma once

#include <algorithm>
#include <string_view>

namespace submitd {

inline bool is_control_byte(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// No control characters: fits in a request line or header value.
inline bool fits_in_header(std::string_view s) { return std::none_of(s.begin(), s.end(), is_control_byte); }

// No control characters and no whitespace (a key or a token).
inline bool is_single_token(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c == ' ' || is_control_byte(c); });
}

}  // namespace submitd
