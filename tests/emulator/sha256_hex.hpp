// SHA-256 as lower-case hex, as the storage endpoint records each upload's: one definition for
// the emulator and the tests that compare a file's hash with what it recorded. Header-only.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace emulator {

inline std::string hex_of(const unsigned char* bytes, unsigned size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
  return out;
}

inline std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  return hex_of(digest, size);
}

}  // namespace emulator
