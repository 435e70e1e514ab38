// The bytes of an emulated job result: deterministic per job and result name, and computable
// at any offset, so the storage endpoint serves a result of any size without holding it and
// a test recomputes what it should have received. Header-only: tests include it too.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace emulator {

// FNV-1a of "<job id>/<name>".
inline std::uint64_t result_seed(std::string_view job_id, std::string_view name) {
  std::uint64_t h = 14695981039346656037ull;
  const auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  };
  mix(job_id);
  mix("/");
  mix(name);
  return h;
}

// Bytes [offset, offset + n) of the result with `seed`: word k (8 bytes, little-endian) is
// splitmix64(seed + k).
inline void result_bytes(std::uint64_t seed, std::uint64_t offset, char* out, std::size_t n) {
  for (std::size_t done = 0; done < n;) {
    const std::uint64_t at = offset + done;
    std::uint64_t z = seed + (at / 8) * 0x9E3779B97F4A7C15ull + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    unsigned char word[8];
    for (int i = 0; i < 8; ++i) word[i] = static_cast<unsigned char>(z >> (8 * i));
    const std::size_t skip = at % 8;
    const std::size_t take = std::min<std::size_t>(8 - skip, n - done);
    std::memcpy(out + done, word + skip, take);
    done += take;
  }
}

}  // namespace emulator
