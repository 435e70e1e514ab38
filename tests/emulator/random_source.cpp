// RandomSource implementation: one mutex around one Mersenne twister (cheap enough per request).
#include "random_source.hpp"

#include <array>

namespace emulator {

namespace {
std::uint64_t entropy_seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}
constexpr char hex_digits[] = "0123456789abcdef";
}  // namespace

RandomSource::RandomSource(std::optional<std::uint64_t> seed)
    : engine_(seed ? *seed : entropy_seed()) {}

double RandomSource::uniform01() {
  std::lock_guard lock(mutex_);
  // 53 random bits -> a double in [0,1); avoids std::uniform_real_distribution's
  // implementation-specific output so a --seed replays the same on every library.
  return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
}

std::string RandomSource::uuid4() {
  std::array<unsigned char, 16> b{};
  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < b.size(); i += 8) {
      std::uint64_t v = engine_();
      for (std::size_t j = 0; j < 8; ++j) b[i + j] = static_cast<unsigned char>(v >> (8 * j));
    }
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex_digits[b[i] >> 4]);
    out.push_back(hex_digits[b[i] & 0x0f]);
  }
  return out;
}

std::string RandomSource::hex(std::size_t bytes) {
  std::string out;
  out.reserve(bytes * 2);
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < bytes; ++i) {
    const auto v = static_cast<unsigned>(engine_() & 0xff);
    out.push_back(hex_digits[v >> 4]);
    out.push_back(hex_digits[v & 0x0f]);
  }
  return out;
}

}  // namespace emulator
