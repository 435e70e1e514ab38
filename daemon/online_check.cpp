// Role: the one token exchange of `--check-config --online` (see online_check.hpp).
#include "online_check.hpp"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "api/https_pool.hpp"
#include "api/token_cache.hpp"
#include "settings_of_config.hpp"
#include "util/clock.hpp"

namespace submitd {
namespace asio = boost::asio;

std::optional<OnlineFailure> online_check(const config::Settings& settings, const std::string& api_key,
                                          const api::ProxyEnvironment& proxy_env) {
  asio::io_context io;
  SystemClock clock;
  api::PoolSettings pool_settings = pool_settings_of(settings.api);
  pool_settings.proxy = proxy_env.for_host(settings.api.host, settings.api.port);
  api::HttpsPool pool(io.get_executor(), pool_settings, clock);
  api::TokenCache tokens(io.get_executor(), pool, settings.api.base_path + "/auth/access_token", api_key, clock,
                         token_timing_of(settings.api));
  std::optional<api::TokenResult> result;
  asio::co_spawn(io, tokens.token(), [&](std::exception_ptr e, api::TokenResult r) {
    if (e) r.error = "the exchange stopped by an exception";
    result = std::move(r);
    pool.shutdown();
    io.stop();  // idle connections' watches would keep run() going
  });
  // The pool's own deadlines end the exchange; this only bounds a case they miss.
  io.run_for(settings.api.connect_timeout + settings.api.request_timeout + std::chrono::seconds(5));
  if (result && result->ok()) return std::nullopt;
  const std::string why = result ? result->error : "no answer in time";
  if (result && result->key_rejected) {
    return OnlineFailure{{"API key", fmt::format("the API at {} refused the token exchange: {}",
                                                   settings.api.base_url, why),
                          "check the key (its source is named above); rotate it in the ByteNite console "
                          "if it was revoked"},
                         false};
  }
  return OnlineFailure{{"api.base_url", fmt::format("no token from {}: {}", settings.api.base_url, why),
                        "check api.base_url, the network and proxy (HTTPS_PROXY, NO_PROXY), and api.ca_file "
                        "for a private certificate authority"},
                       true};
}

}  // namespace submitd
