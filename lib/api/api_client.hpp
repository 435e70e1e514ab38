// Role: sends customer-API calls with the shared token: attaches the token, and on a 401
// reports that token as rejected and retries the call once with a fresh one (a 401 is trouble
// with the token or key, never with the request). Reports when no token could be had at all.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string>

#include "api/http_call.hpp"
#include "api/transport.hpp"
#include "api/token_cache.hpp"

namespace submitd::api {

struct ApiReply {
  HttpResult http;
  // Set when no token could be obtained; `http` is then the token exchange's result.
  bool token_unavailable = false;
  bool key_rejected = false;
  std::string token_error;
};

class ApiClient {
 public:
  ApiClient(Transport& transport, TokenCache& tokens) : transport_(transport), tokens_(tokens) {}
  boost::asio::awaitable<ApiReply> send(HttpCall call);

 private:
  Transport& transport_;
  TokenCache& tokens_;
};

}  // namespace submitd::api
