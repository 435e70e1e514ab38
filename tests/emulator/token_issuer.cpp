// TokenIssuer implementation. Tokens are 32 bytes from OpenSSL's CSPRNG, hex-encoded: they stand
// in for real bearer credentials, so they should not be guessable even in a test tool.
#include "token_issuer.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace emulator {

namespace {
std::string random_token() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0x0f]);
  }
  return out;
}

// Compare keys without an early exit, so response timing does not leak how much of a key matched.
bool same_key(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}
}  // namespace

TokenIssuer::TokenIssuer(std::vector<std::string> api_keys, std::chrono::seconds lifetime)
    : api_keys_(std::move(api_keys)), lifetime_(lifetime) {}

std::optional<IssuedToken> TokenIssuer::exchange(std::string_view api_key, TimePoint now) {
  std::lock_guard lock(mutex_);
  bool known = false;
  for (const std::string& k : api_keys_) known = same_key(k, api_key) || known;
  if (!known || api_key.empty()) return std::nullopt;
  // size() is read before the insertion: a new key gets the next number.
  const std::size_t account =
      accounts_.try_emplace(std::string(api_key), accounts_.size()).first->second;

  IssuedToken issued{random_token(), {}};
  issued.lifetime = lifetime_;
  if (expiry_.size() >= purge_threshold_) purge_expired_locked(now);
  expiry_.emplace(issued.token, Grant{now + issued.lifetime, account});
  return issued;
}

TokenCheck TokenIssuer::check(std::string_view token, TimePoint now) const {
  if (token.empty()) return TokenCheck::missing;
  std::lock_guard lock(mutex_);
  auto it = expiry_.find(token);
  if (it == expiry_.end()) return TokenCheck::unknown;
  return now < it->second.expires ? TokenCheck::valid : TokenCheck::expired;
}

std::optional<std::size_t> TokenIssuer::account_of(std::string_view token) const {
  std::lock_guard lock(mutex_);
  auto it = expiry_.find(token);
  if (it == expiry_.end()) return std::nullopt;
  return it->second.account;
}

void TokenIssuer::set_api_keys(std::vector<std::string> api_keys) {
  std::lock_guard lock(mutex_);
  api_keys_ = std::move(api_keys);
}

void TokenIssuer::set_lifetime(std::chrono::seconds lifetime) {
  std::lock_guard lock(mutex_);
  lifetime_ = lifetime;
}

std::chrono::seconds TokenIssuer::lifetime() const {
  std::lock_guard lock(mutex_);
  return lifetime_;
}

std::size_t TokenIssuer::live_tokens() const {
  std::lock_guard lock(mutex_);
  return expiry_.size();
}

void TokenIssuer::purge_expired_locked(TimePoint now) {
  // Expired tokens are kept for a while so a client sees "expired" rather than "unknown"
  // (useful in logs); only drop them once the table grows, and let the threshold grow with
  // the live set so a client that exchanges per request does not make this quadratic.
  std::erase_if(expiry_, [now](const auto& kv) { return kv.second.expires <= now; });
  purge_threshold_ = std::max<std::size_t>(1024, expiry_.size() * 2);
}

}  // namespace emulator
