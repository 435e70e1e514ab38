// Role: the one UTF-8 decoder: which byte sequences are well-formed UTF-8 (RFC 3629), for the
// JSON writer (which replaces broken bytes) and the request parser (which names the first
// broken byte). Header-only and inline: the request parser's callers are on the spool hot
// path and the writer runs for every user-supplied string, so a call per byte must fold away.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace submitd {

// Length (1 to 4) of the well-formed UTF-8 sequence starting at text[i], or 0 when the bytes
// there are not one: a stray continuation byte, 0xF8 and up, a sequence cut short by the end
// of text or by a byte that is not a continuation, an overlong form (a shorter one exists,
// so two spellings of '/' could slip past a check), a UTF-16 surrogate (U+D800..U+DFFF) or a
// value past U+10FFFF. Requires i < text.size().
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char lead = p[i];
  if (lead < 0x80) return 1;
  std::size_t len;
  std::uint32_t cp;
  if ((lead & 0xE0) == 0xC0) {
    len = 2;
    cp = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    len = 3;
    cp = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    len = 4;
    cp = lead & 0x07;
  } else {
    return 0;
  }
  if (len > text.size() - i) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((p[i + k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i + k] & 0x3F);
  }
  const bool overlong =
      (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// Offset of the first byte that does not start a well-formed sequence, or npos when all of
// `text` is valid UTF-8.
inline std::size_t first_invalid_utf8(std::string_view text) {
  // ASCII goes through the same call: inlined, its first test is the whole cost per byte.
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

// The longest start of `text` of at most `max_bytes` bytes that does not end inside a UTF-8
// sequence (a byte that is not well-formed counts as one character), for names cut short.
inline std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;  // nothing to cut: no walk (every API string field comes here)
  std::size_t end = 0;
  while (end < text.size()) {
    const std::size_t len = utf8_sequence_length(text, end);
    const std::size_t step = len == 0 ? 1 : len;
    if (end + step > max_bytes) break;
    end += step;
  }
  return text.substr(0, end);
}

}  // namespace submitd
