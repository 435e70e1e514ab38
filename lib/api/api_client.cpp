// Role: token attachment and the 401-refresh-once rule (see api_client.hpp).
#include "api/api_client.hpp"

namespace submitd::api {

boost::asio::awaitable<ApiReply> ApiClient::send(HttpCall call) {
  ApiReply reply;
  for (int attempt = 0; attempt < 2; ++attempt) {
    TokenResult token = co_await tokens_.token();
    if (!token.ok()) {
      reply.token_unavailable = true;
      reply.key_rejected = token.key_rejected;
      reply.token_error = token.error;
      reply.http = token.last;
      co_return reply;
    }
    call.authorization = std::move(token.token);
    reply.http = co_await transport_.send(call);
    if (!(reply.http.has_response() && reply.http.status == 401)) break;
    // Only the token this call carried is dropped; if another caller already refreshed,
    // the retry simply uses the newer token.
    tokens_.rejected(call.authorization);
  }
  co_return reply;
}

}  // namespace submitd::api
