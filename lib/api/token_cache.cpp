// Role: performs token exchanges for TokenState (see token_cache.hpp). Single-threaded
// executor: waiters are parked in a WaitLine and woken with the exchange's verdict.
#include "api/token_cache.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "api/api_error.hpp"
#include "api/responses.hpp"
#include "util/json_text.hpp"
#include "util/log.hpp"

namespace submitd::api {
namespace asio = boost::asio;

TokenCache::TokenCache(asio::any_io_executor executor, Transport& transport, std::string token_target,
                       std::string api_key, const Clock& clock, TokenTiming timing)
    : executor_(std::move(executor)),
      transport_(transport),
      token_target_(std::move(token_target)),
      api_key_(std::move(api_key)),
      clock_(clock),
      state_(timing),
      waiters_(executor_) {}

asio::awaitable<TokenResult> TokenCache::token() {
  for (;;) {
    switch (state_.decide(clock_.now())) {
      case TokenState::Action::use:
        co_return TokenResult{state_.token()};
      case TokenState::Action::use_and_refresh: {
        state_.refresh_started();
        // One background refresh; callers keep the current token meanwhile.
        asio::co_spawn(
            executor_,
            [this]() -> asio::awaitable<void> { co_await exchange(); },
            [](std::exception_ptr e) {
              if (e) log::error("background token refresh ended with an exception");
            });
        co_return TokenResult{state_.token()};
      }
      case TokenState::Action::refresh: {
        state_.refresh_started();
        TokenResult r = co_await exchange();
        co_return r;
      }
      case TokenState::Action::refused: {
        // The key was refused moments ago: repeat that answer instead of asking again.
        if (last_failure_) co_return *last_failure_;
        TokenResult held;
        held.error = "the API key was refused; waiting before trying it again";
        held.key_rejected = true;
        co_return held;
      }
      case TokenState::Action::wait: {
        const bool refreshed = co_await waiters_.wait();
        // The refresh we waited for failed: report its failure rather than starting an
        // exchange per waiter (single-flight also under failure). A success, or a failure
        // already superseded, goes round again: decide() now has a token or a new verdict.
        if (!refreshed && last_failure_) co_return *last_failure_;
        break;
      }
    }
  }
}

asio::awaitable<TokenResult> TokenCache::exchange() {
  if (on_exchange) on_exchange();
  HttpCall call;
  call.endpoint = Endpoint::token;
  call.method = Method::post;
  call.target = token_target_;
  call.body = "{\"apiKey\":" + json_string(api_key_) + "}";
  call.replay_safe = true;  // a second exchange only mints a second token
  HttpResult result = co_await transport_.send(std::move(call));
  TokenResult out;
  out.last = result;
  if (!result.has_response()) {
    out.error = "token exchange failed: " + result.failure_detail;
  } else if (result.status == 200) {
    if (auto grant = parse_token_response(result.body)) {
      state_.refresh_succeeded(grant->token, grant->lifetime, clock_.now());
      last_failure_.reset();
      grant_unusable_ = false;
      waiters_.wake_all(true);
      out.token = grant->token;
      if (on_outcome) on_outcome(out);
      co_return out;
    }
    // Not the API's answer (a captive portal's page, a token with spaces or line breaks):
    // configuration trouble like a refused key, so asked again once per hold, not per caller.
    out.key_rejected = true;
    grant_unusable_ = true;
    out.error = "the token endpoint answered 200 without a usable token and expiresIn (check api.base_url); "
                "asked again every api.blocked_retry_s";
  } else {
    out.key_rejected = result.status == 401 || result.status == 403;
    out.error = "token exchange refused: " + parse_api_error(result.status, result.body).message;
    if (out.key_rejected) out.error += " (check the API key)";
  }
  if (out.key_rejected) {
    state_.key_refused(clock_.now());
  } else {
    state_.refresh_failed();
  }
  last_failure_ = out;
  waiters_.wake_all(false);
  if (on_outcome) on_outcome(out);
  co_return out;
}

}  // namespace submitd::api
