// Role: the decisions about the one shared access token, as plain logic with injected time:
// when a caller may use the current token, when one background refresh should start (soft
// margin before expiry), when callers must wait for a refresh (hard margin), and which 401s
// invalidate the token (only one that names the token currently held: a late 401 for an
// older token must not throw away a fresh one), and how long a refused key is left alone
// before it is tried again. The async TokenCache performs what it decides.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "util/clock.hpp"

namespace submitd::api {

struct TokenTiming {
  std::chrono::seconds soft_margin{300};  // refresh in the background this long before expiry
  std::chrono::seconds hard_margin{30};   // stop using a token this long before expiry
  // After the API refused the key, no exchange is tried for this long: a wrong key is a
  // configuration problem, and every request asking again would only hammer the API.
  std::chrono::milliseconds key_refused_hold{60000};
};

class TokenState {
 public:
  enum class Action {
    use,                 // the current token is good
    use_and_refresh,     // good for now; start one background refresh
    refresh,             // no usable token; this caller exchanges, others wait
    wait,                // no usable token; a refresh is under way
    refused,             // no usable token; the key was refused recently: fail at once
  };

  explicit TokenState(TokenTiming timing = {}) : timing_(timing) {}

  Action decide(MonoTime now) const;
  const std::string& token() const { return token_; }
  bool refreshing() const { return refreshing_; }

  void refresh_started() { refreshing_ = true; }
  // `lifetime` is expiresIn; margins are shrunk for very short lifetimes so such a token is
  // still used for part of its life instead of being refreshed in a loop.
  void refresh_succeeded(std::string token, std::chrono::seconds lifetime, MonoTime now);
  void refresh_failed() { refreshing_ = false; }
  // The exchange answered that the key is not accepted (401/403): hold exchanges for a while.
  void key_refused(MonoTime now);
  // A new key was configured: the next caller may exchange at once.
  void key_replaced() { refused_until_.reset(); }
  // A reloaded api.blocked_retry: used from the next refusal on, like the scheduler's retry
  // timing, which also leaves waits already under way as they are.
  void set_key_refused_hold(std::chrono::milliseconds hold) { timing_.key_refused_hold = hold; }

  // A request carrying `token` got a 401. Returns true when that token was the current one
  // (now dropped, so the next caller refreshes); false when it was already replaced.
  bool rejected(std::string_view token);

 private:
  TokenTiming timing_;
  std::string token_;
  MonoTime soft_deadline_{};
  MonoTime hard_deadline_{};
  bool refreshing_ = false;
  std::optional<MonoTime> refused_until_;
};

}  // namespace submitd::api
