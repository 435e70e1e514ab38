// Role: small byte-level helpers for the request parser's error path and pass-through checks
// (JSON whitespace, the number grammar, where a value ends, where UTF-8 breaks). Header-only
// so the spool library needs no extra translation unit for them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/utf8.hpp"

namespace submitd::spool {

inline bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

inline std::string_view trim_json_space(std::string_view s) {
  while (!s.empty() && is_json_space(s.back())) s.remove_suffix(1);
  while (!s.empty() && is_json_space(s.front())) s.remove_prefix(1);
  return s;
}

// RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
inline bool is_json_number(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

// For messages: appends at most 64 bytes of `s`, control characters (as '?') and quotes
// made visible, "..." when cut. Runs for every key of every request (the walker's path), so a
// plain key goes in at once.
inline void append_printable(std::string& out, std::string_view s) {
  const std::string_view shown = s.substr(0, 64);
  auto plain = [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c != 0x7f && c != '"' && c != '\\';
  };
  if (std::all_of(shown.begin(), shown.end(), plain)) {
    out.append(shown);
  } else {
    for (char ch : shown) {
      auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c == 0x7f)
        out += '?';
      else if (c == '"' || c == '\\')
        out += {'\\', static_cast<char>(c)};
      else
        out += static_cast<char>(c);
    }
  }
  if (s.size() > 64) out += "...";
}

// Offset just past the first complete JSON object/array/string in `text` (leading space
// skipped), judged by brackets and string quoting only; npos when it never closes.
inline size_t json_value_end(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && is_json_space(text[i])) ++i;
  size_t depth = 0;
  bool in_string = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"') {
        in_string = false;
        if (depth == 0) return i + 1;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return std::string_view::npos;
      if (--depth == 0) return i + 1;
    } else if (depth == 0) {
      return std::string_view::npos;  // a scalar at the root: not our concern here
    }
  }
  return std::string_view::npos;
}

// Offset of the first raw control character inside a JSON string, or npos.
inline size_t first_unescaped_control(std::string_view text) {
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (in_string && c < 0x20) return i;
    if (in_string && c == '\\')
      ++i;
    else if (c == '"')
      in_string = !in_string;
  }
  return std::string_view::npos;
}

// Where UTF-8 breaks (util/utf8.hpp holds the one decoder; named here for the parser's
// error path).
using submitd::first_invalid_utf8;

}  // namespace submitd::spool
