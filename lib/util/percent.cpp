// Role: %XX decoding (see percent.hpp).
#include "util/percent.hpp"

namespace submitd {

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());  // decoding only shrinks
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (text.size() - i < 3) return std::nullopt;  // "%" or "%X" at the end
    const int hi = hex_digit_value(text[i + 1]);
    const int lo = hex_digit_value(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

}  // namespace submitd
