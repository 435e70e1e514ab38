// Role: the thin Asio layer that carries HttpCalls to the API host over a pool of TLS
// keep-alive connections. Certificate and host-name verification are always on (system store
// or a given CA file), with SNI. Every phase (resolve+connect, handshake, write, read) has a
// deadline. Beast and Asio's SSL stay inside the pool's two .cpp files, so only they pay for it.
// With a proxy, each connection is a CONNECT tunnel through it; TLS (SNI, verification,
// session resumption) is still end to end with the API host.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/http_call.hpp"
#include "api/proxy_settings.hpp"
#include "api/transport.hpp"
#include "util/clock.hpp"

namespace submitd::api {

struct PoolSettings {
  std::string host;
  std::uint16_t port = 443;
  std::optional<std::string> ca_file;  // trust exactly these CAs instead of the system store
  std::size_t connections = 32;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  // Below typical server keep-alive windows, so we close idle connections before the server
  // does and rarely meet a connection the server has just closed.
  std::chrono::milliseconds idle_timeout{30000};
  // After a certificate is refused, connecting is not tried again for this long.
  std::chrono::milliseconds certificate_hold{60000};
  // Connect through this HTTP proxy (CONNECT host:port) instead of directly. The caller has
  // already applied NO_PROXY (ProxyEnvironment::for_host).
  std::optional<ProxyServer> proxy;
};

struct PoolStats {
  std::size_t open = 0;           // connections open now
  std::size_t busy = 0;           // connections carrying a call now
  std::uint64_t connects = 0;     // connections opened so far
  std::uint64_t resumed = 0;      // of those, with a resumed TLS session
  // Name lookups made: one per connection attempt (of the API host, or of the proxy host when
  // there is a proxy). Nothing is cached, so a changed DNS answer is used at the next connect.
  std::uint64_t lookups = 0;
};

// Observes every finished exchange (for metrics); must not block.
using CallObserver = std::function<void(const HttpCall&, const HttpResult&, std::chrono::nanoseconds)>;
// Told the number of open connections whenever it changes: a connection opened, or closed by
// us, by a failure, or by the server while it sat idle (for the connections gauge).
using OpenConnectionsObserver = std::function<void(std::size_t open)>;

class HttpsPool final : public Transport {
 public:
  // Throws std::runtime_error when the TLS context cannot be set up (e.g. unreadable CA file).
  HttpsPool(boost::asio::any_io_executor executor, PoolSettings settings);
  HttpsPool(boost::asio::any_io_executor executor, PoolSettings settings, const Clock& clock);
  ~HttpsPool() override;
  HttpsPool(const HttpsPool&) = delete;
  HttpsPool& operator=(const HttpsPool&) = delete;

  // Sends one call on a pooled connection (waiting for a free one) and returns the response or
  // the transport failure. Never throws for network trouble.
  boost::asio::awaitable<HttpResult> send(const HttpCall& call) override;

  void set_observer(CallObserver observer);
  // Also called from shutdown() and the destructor: what it refers to must outlive the pool.
  void set_open_connections_observer(OpenConnectionsObserver observer);
  // Connections idle in the pool are watched: one the server closes is closed here at once,
  // so this stays true between calls, not only after the next call on that connection.
  std::size_t open_connections() const;
  // A reloaded api.blocked_retry: the hold after the next certificate refusal.
  void set_certificate_hold(std::chrono::milliseconds hold);
  PoolStats stats() const;
  // Closes idle connections and makes waiting callers fail; used at shutdown.
  void shutdown();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace submitd::api
