// Role: the one seam between API logic and the network: something that carries an HttpCall
// and returns its HttpResult. HttpsPool is the real one; unit tests put a scripted fake here
// so the token cache and the client are driven step by step without sockets.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "api/http_call.hpp"

namespace submitd::api {

class Transport {
 public:
  virtual ~Transport() = default;
  // Never throws for network trouble: failures come back as HttpResult::failure. `call` is
  // read while the returned awaitable runs: the caller keeps it alive until that completes
  // (co_await it at once). Taken by reference: every call's target, body and token would be
  // copied otherwise, on the hot path.
  virtual boost::asio::awaitable<HttpResult> send(const HttpCall& call) = 0;
};

}  // namespace submitd::api
