// Role: UUID v4/v5 generation and parsing (RFC 4122), using OpenSSL's SHA-1 for v5.
#include "util/uuid.hpp"

#include "util/percent.hpp"

#include <openssl/evp.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace submitd {
namespace {

void set_version_and_variant(Uuid& id, int version) {
  id.bytes[6] = static_cast<std::uint8_t>((id.bytes[6] & 0x0F) | (version << 4));
  id.bytes[8] = static_cast<std::uint8_t>((id.bytes[8] & 0x3F) | 0x80);
}

}  // namespace

std::string Uuid::str() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0x0F]);
  }
  return out;
}

std::optional<Uuid> Uuid::parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  Uuid id;
  std::size_t byte = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    int hi = hex_digit_value(text[i]);
    int lo = hex_digit_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.bytes[byte++] = static_cast<std::uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return id;
}

Uuid uuid_v4_random() {
  Uuid id;
  std::size_t filled = 0;
  while (filled < id.bytes.size()) {
    ssize_t n = getrandom(id.bytes.data() + filled, id.bytes.size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("getrandom failed");
    }
    filled += static_cast<std::size_t>(n);
  }
  set_version_and_variant(id, 4);
  return id;
}

Uuid uuid_v5(const Uuid& name_space, std::string_view name) {
  // v5 hashes namespace bytes followed by the name.
  std::string input(reinterpret_cast<const char*>(name_space.bytes.data()), name_space.bytes.size());
  input.append(name);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("SHA-1 digest failed");
  }
  Uuid id;
  std::memcpy(id.bytes.data(), digest, id.bytes.size());
  set_version_and_variant(id, 5);
  return id;
}

}  // namespace submitd
