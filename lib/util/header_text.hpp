// Role: what text may go into an HTTP request as is. A control character (CR, LF above all)
// in a request line or header value would end it or add a header of its own; the API key and
// the access token are single tokens, so whitespace is refused there too. One definition for
// the key (config), the token grant (API responses) and the request writer.
#pragma once

#include <string_view>

namespace submitd {

inline bool is_control_byte(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// No control characters: fits in a request line or header value. (No early exit: the
// request writer checks the token on every call, and a loop without one vectorizes.)
inline bool fits_in_header(std::string_view s) {
  bool bad = false;
  for (char c : s) bad |= is_control_byte(c);
  return !bad;
}

// No control characters and no whitespace (a key or a token).
inline bool is_single_token(std::string_view s) {
  bool bad = false;
  for (char c : s) bad |= c == ' ' || is_control_byte(c);
  return !bad;
}

}  // namespace submitd
