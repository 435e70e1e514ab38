// RandomSource: a thread-safe pseudo-random generator for fault draws, job ids and request ids.
// Fault draws use one seeded with --seed so a run can be replayed; ids use one from entropy.
// Not for secrets: tokens come from the OpenSSL CSPRNG instead (see token_issuer.cpp).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>

namespace emulator {

class RandomSource {
 public:
  // Without a seed the generator is seeded from std::random_device.
  explicit RandomSource(std::optional<std::uint64_t> seed = std::nullopt);

  double uniform01();   // in [0, 1)
  std::string uuid4();  // lower-case 8-4-4-4-12, version 4, RFC 4122 variant
  std::string hex(std::size_t bytes);

 private:
  std::mutex mutex_;
  std::mt19937_64 engine_;
};

}  // namespace emulator
