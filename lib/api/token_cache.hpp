// Role: the async side of the shared access token: performs the exchanges TokenState asks
// for (one at a time, however many callers want a token) and hands the token to callers.
// The API key is held here and sent only in the exchange body; it is never logged.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <string>

#include "api/http_call.hpp"
#include "api/transport.hpp"
#include "api/token_state.hpp"
#include "util/wait_line.hpp"

namespace submitd::api {

struct TokenResult {
  std::string token;  // empty on failure
  // On failure: why (for outcomes/logs; never the key), and whether the key itself was refused
  // (or the endpoint gave no usable token: configuration trouble either way, retried slowly).
  std::string error;
  bool key_rejected = false;
  HttpResult last;  // the exchange's raw result, for metrics and classification
  bool ok() const { return !token.empty(); }
};

class TokenCache {
 public:
  TokenCache(boost::asio::any_io_executor executor, Transport& transport, std::string token_target,
             std::string api_key, const Clock& clock, TokenTiming timing = {});

  boost::asio::awaitable<TokenResult> token();
  // Reports a 401 for `token`; the next token() refreshes if that token was the current one.
  void rejected(std::string_view token) { state_.rejected(token); }
  void set_api_key(std::string api_key) {
    api_key_ = std::move(api_key);
    state_.key_replaced();
  }
  // A reloaded api.blocked_retry: the hold after the next refused key.
  void set_key_refused_hold(std::chrono::milliseconds hold) { state_.set_key_refused_hold(hold); }

  bool has_token() const { return !state_.token().empty(); }
  // The last exchange got a 200 that held no usable token: the API does not really answer.
  bool grant_unusable() const { return grant_unusable_; }
  std::function<void()> on_exchange;  // metrics hook: called for every exchange attempt
  std::function<void(const TokenResult&)> on_outcome;  // metrics hook: how each exchange ended

 private:
  boost::asio::awaitable<TokenResult> exchange();

  boost::asio::any_io_executor executor_;
  Transport& transport_;
  std::string token_target_;
  std::string api_key_;
  const Clock& clock_;
  TokenState state_;
  // Callers waiting for the exchange in flight; woken with true when it minted a token, false
  // when it failed (they then report last_failure_ rather than each starting an exchange).
  WaitLine waiters_;
  std::optional<TokenResult> last_failure_;
  bool grant_unusable_ = false;
};


}  // namespace submitd::api
