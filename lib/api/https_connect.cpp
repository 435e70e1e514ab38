// Role: opening HttpsPool's connections, in the second of the pool's two translation units
// (https_pool.cpp has the calls on them). Trusts only what PoolSettings says (system store or
// the given CA file, loaded into the pool's TLS context when the pool is built), verifies the
// peer's chain and host name on every handshake, and resumes TLS sessions when reconnecting.
// Through a proxy, a connection is a TCP connection to the proxy, a CONNECT exchange (bounded
// in size and time), then the same TLS handshake with the API host inside the tunnel; a
// refused CONNECT is a connect failure naming the proxy's answer.
// Connecting, CONNECT and the handshake run under the pool's watchdog (https_pool.cpp).
#include "api/https_pool_impl.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>
#include <tuple>

namespace submitd::api {
using namespace pool_detail;

namespace {
// A proxy's answer to CONNECT is a status line and a few headers.
constexpr std::uint32_t kMaxProxyAnswerHead = 16 * 1024;
}  // namespace

HttpsPool::Impl::Impl(asio::any_io_executor ex, PoolSettings s, const Clock& c)
    : executor(std::move(ex)),
      settings(std::move(s)),
      clock(c),
      slots(settings.connections, settings.idle_timeout),
      waiting(executor),
      watchdog_timer(executor) {
  host_header = settings.port == 443 ? settings.host
                                     : settings.host + ":" + std::to_string(settings.port);
  tls.set_verify_mode(ssl::verify_peer);
  SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
  error_code ec;
  if (settings.ca_file) {
    tls.load_verify_file(*settings.ca_file, ec);
    if (ec) {
      throw std::runtime_error("cannot load CA file " + *settings.ca_file + ": " + ec.message());
    }
  } else {
    tls.set_default_verify_paths(ec);
    if (ec) throw std::runtime_error("cannot load the system CA store: " + ec.message());
  }
  for (std::size_t i = 0; i < slots.size(); ++i) connections.push_back(std::make_unique<Connection>());
}

// Resolves `host` (the API host, or the proxy) with the connect deadline (getaddrinfo has
// none of its own that we control). Resolving on every connect picks up a changed DNS
// answer: no endpoint is ever cached.
asio::awaitable<std::optional<tcp::resolver::results_type>> HttpsPool::Impl::resolve(const std::string& host,
                                                                                     std::uint16_t port,
                                                                                     const std::string& what,
                                                                                     HttpResult& out) {
  // Shared with the deadline's handler, which may run after this frame has moved on.
  struct Lookup {
    explicit Lookup(asio::any_io_executor ex) : resolver(std::move(ex)) {}
    tcp::resolver resolver;
    bool expired = false;
  };
  auto lookup = std::make_shared<Lookup>(executor);
  asio::steady_timer deadline(executor, settings.connect_timeout);
  deadline.async_wait([lookup](error_code ec) {
    if (ec) return;  // cancelled: the answer came in time
    lookup->expired = true;
    lookup->resolver.cancel();
  });
  ++lookups;
  const std::string service = std::to_string(port);
  auto [ec, endpoints] = co_await lookup->resolver.async_resolve(host, service, kTuple);
  deadline.cancel();
  if (!ec) co_return endpoints;
  out.failure = lookup->expired ? TransportFailure::timeout : TransportFailure::connect;
  out.failure_detail = lookup->expired ? "resolving " + what + " took longer than " +
                                             std::to_string(settings.connect_timeout.count()) + " ms"
                                       : "cannot resolve " + what + ": " + ec.message();
  co_return std::nullopt;
}

// Asks the proxy, on a fresh TCP connection to it, for a tunnel to the API host. True when
// it answered 2xx with nothing after its answer's head (the TLS handshake comes next).
asio::awaitable<bool> HttpsPool::Impl::open_tunnel(Connection& c, tcp::socket& tcp, HttpResult& out) {
  const ProxyServer& proxy = *settings.proxy;
  const std::string where = "proxy " + proxy.display();
  const std::string head = connect_request_head(proxy, settings.host, settings.port);  // holds credentials
  restart_deadline(c, settings.connect_timeout);  // one deadline for the whole CONNECT exchange
  auto [wec, wn] = co_await asio::async_write(tcp, asio::buffer(head), kTuple);
  wec = timed(c, wec);
  if (wec) {
    out.failure = wec == beast::error::timeout ? TransportFailure::timeout : TransportFailure::connect;
    out.failure_detail = "sending CONNECT to " + where + " failed: " + wec.message();
    co_return false;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  parser.skip(true);  // the answer's body, if any, is never read: a refusal closes the connection
  parser.header_limit(kMaxProxyAnswerHead);
  auto [rec, rn] = co_await http::async_read_header(tcp, buffer, parser, kTuple);
  rec = timed(c, rec);
  if (rec) {
    if (rec == beast::error::timeout) {
      out.failure = TransportFailure::timeout;
      out.failure_detail = where + " did not answer CONNECT within " +
                           std::to_string(settings.connect_timeout.count()) + " ms";
    } else {
      out.failure = TransportFailure::connect;
      out.failure_detail =
          rec == http::error::header_limit ? where + " answered CONNECT with a head over 16 KiB"
          : rec == http::error::end_of_stream || rec == asio::error::eof || rec == asio::error::connection_reset
              ? where + " closed the connection instead of answering CONNECT"
              : where + " answered CONNECT with something that is not HTTP: " + rec.message();
    }
    co_return false;
  }
  const auto& answer = parser.get();
  const int status = static_cast<int>(answer.result_int());
  if (status < 200 || status > 299) {
    out.failure = TransportFailure::connect;
    out.failure_detail = connect_refusal(proxy, status, answer.reason());
    co_return false;
  }
  if (buffer.size() != 0) {
    // The API server speaks only after our ClientHello: bytes here are the proxy's own.
    out.failure = TransportFailure::connect;
    out.failure_detail = where + " sent data after accepting CONNECT, before the TLS handshake";
    co_return false;
  }
  co_return true;
}

// A TLS stream for a new connection of `c`: SNI, host-name verification, and the offer of
// the session `c` keeps.
std::unique_ptr<TlsStream> HttpsPool::Impl::new_stream(const Connection& c) {
  auto stream = std::make_unique<TlsStream>(executor, tls);
  SSL* ssl_handle = stream->native_handle();
  // Asio turns on SSL_MODE_RELEASE_BUFFERS: OpenSSL then frees a connection's record
  // buffers whenever they are empty and allocates them again for the next record, i.e.
  // several 16 KiB mallocs per call on a busy keep-alive connection. Keeping them costs
  // about 34 KiB per open connection (bench/README.md).
  SSL_clear_mode(ssl_handle, SSL_MODE_RELEASE_BUFFERS);
  // SNI, so a server with several names presents the right certificate.
  SSL_set_tlsext_host_name(ssl_handle, settings.host.c_str());
  stream->set_verify_callback(ssl::host_name_verification(settings.host));
  if (c.session != nullptr) {
    // Offer a copy, so a failure of this handshake cannot spoil the kept session.
    if (SSL_SESSION* offer = SSL_SESSION_dup(c.session)) {
      SSL_set_session(ssl_handle, offer);
      SSL_SESSION_free(offer);  // the SSL holds its own reference
    }
  }
  return stream;
}

// Opens a verified TLS connection in `slot`; on failure fills `out` and returns false.
asio::awaitable<bool> HttpsPool::Impl::connect(std::size_t slot, HttpResult& out) {
  if (auto held = slots.connect_held(clock.now())) {
    out.failure = TransportFailure::certificate;
    out.failure_detail = *held + " (not trying again before " +
                         std::to_string(settings.certificate_hold.count() / 1000) + " s have passed)";
    co_return false;
  }
  // Through a proxy, the proxy's name is resolved here (on every connect, like the API host's
  // when direct) and the proxy resolves the API host for the tunnel.
  const bool via_proxy = settings.proxy.has_value();
  const std::string& dial_host = via_proxy ? settings.proxy->host : settings.host;
  const std::uint16_t dial_port = via_proxy ? settings.proxy->port : settings.port;
  const std::string dial_what = via_proxy ? "proxy " + settings.proxy->display() : host_header;
  auto endpoints = co_await resolve(dial_host, dial_port, dial_what, out);
  if (!endpoints) co_return false;
  Connection& c = *connections[slot];
  auto stream = new_stream(c);
  SSL* ssl_handle = stream->native_handle();

  tcp::socket& socket = stream->next_layer();
  const Watched watched = watch(c, socket, settings.connect_timeout);
  auto [cec, ep] = co_await asio::async_connect(socket, *endpoints, kTuple);
  cec = timed(c, cec);
  if (cec) {
    out.failure = cec == beast::error::timeout ? TransportFailure::timeout : TransportFailure::connect;
    out.failure_detail = "cannot connect to " + dial_what + ": " + cec.message();
    co_return false;
  }
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (via_proxy && !co_await open_tunnel(c, socket, out)) co_return false;
  restart_deadline(c, settings.connect_timeout);
  auto [hec] = co_await stream->async_handshake(ssl::stream_base::client, kTuple);
  hec = timed(c, hec);
  if (hec) {
    long verify = SSL_get_verify_result(ssl_handle);
    if (hec == beast::error::timeout) {
      out.failure = TransportFailure::timeout;
      out.failure_detail = "TLS handshake with " + host_header + " took too long";
    } else if (verify != X509_V_OK) {
      // Covers an untrusted chain and a name mismatch alike: nothing was sent.
      out.failure = TransportFailure::certificate;
      out.failure_detail = "TLS handshake with " + host_header +
                           " failed: certificate not accepted: " +
                           X509_verify_cert_error_string(verify);
      slots.certificate_refused(out.failure_detail, clock.now(), settings.certificate_hold);
    } else {
      out.failure = TransportFailure::tls;
      out.failure_detail = "TLS handshake with " + host_header + " failed: " + hec.message();
    }
    co_return false;
  }
  slots.certificate_accepted();
  c.stream = std::move(stream);
  c.buffer.clear();
  slots.opened(slot, SSL_session_reused(ssl_handle) == 1);
  report_open();
  co_return true;
}

// Keeps a private copy of the connection's TLS session. A copy, because OpenSSL marks the
// live session object not resumable when its connection later dies with an error (as a
// keep-alive connection the server dropped does), which would spoil the next resumption.
void HttpsPool::Impl::remember_session(Connection& c) {
  SSL_SESSION* live = SSL_get_session(c.stream->native_handle());
  // The live session changes only at the handshake and when a new ticket arrives (OpenSSL
  // then installs a new SSL_SESSION): copy it then, not after every answer.
  if (live == c.session_copied_from) return;
  if (live == nullptr || !SSL_SESSION_is_resumable(live)) return;
  c.session_copied_from = live;
  SSL_SESSION* copy = SSL_SESSION_dup(live);
  if (copy == nullptr) return;
  if (c.session != nullptr) SSL_SESSION_free(c.session);
  c.session = copy;
}

}  // namespace submitd::api
