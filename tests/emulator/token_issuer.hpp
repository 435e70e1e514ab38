// TokenIssuer: exchanges API keys for opaque access tokens and checks tokens on every use.
// Tokens really expire (checked against the injected clock), as ByteNite's do after 3600 s.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "clock.hpp"

namespace emulator {

enum class TokenCheck { valid, missing, unknown, expired };

struct IssuedToken {
  std::string token;
  std::chrono::seconds lifetime;
};

class TokenIssuer {
 public:
  TokenIssuer(std::vector<std::string> api_keys, std::chrono::seconds lifetime);

  // nullopt when the key is not one of the configured keys.
  std::optional<IssuedToken> exchange(std::string_view api_key, TimePoint now);
  TokenCheck check(std::string_view token, TimePoint now) const;
  // The account of a token (a number standing for the API key it was issued for, the same for
  // that key across key rotations); nullopt if unknown.
  std::optional<std::size_t> account_of(std::string_view token) const;

  // Applies to tokens issued from now on; tokens already out keep their expiry.
  void set_lifetime(std::chrono::seconds lifetime);
  std::chrono::seconds lifetime() const;
  // Key rotation: the keys accepted from now on. Tokens already issued stay valid until
  // they expire (as a revoked key's tokens would at a real API, at best).
  void set_api_keys(std::vector<std::string> api_keys);
  std::size_t live_tokens() const;

 private:
  struct TransparentHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  void purge_expired_locked(TimePoint now);

  mutable std::mutex mutex_;
  std::vector<std::string> api_keys_;  // guarded by mutex_
  struct Grant {
    TimePoint expires;
    std::size_t account;
  };
  std::unordered_map<std::string, Grant, TransparentHash, std::equal_to<>> expiry_;
  std::chrono::seconds lifetime_;
  std::size_t purge_threshold_ = 1024;
  // An account number per API key ever accepted, in order of first exchange: keyed by the key
  // itself, not its position, so rotating keys does not move a key to another account.
  std::unordered_map<std::string, std::size_t, TransparentHash, std::equal_to<>> accounts_;
};

}  // namespace emulator
