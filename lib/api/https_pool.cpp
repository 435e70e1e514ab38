// Role: the HTTPS transport: a fixed number of connection slots to one API host, each a TLS
// keep-alive connection opened on demand and reused. Trusts only what PoolSettings says
// (system store or the given CA file), verifies the peer's chain and host name on every
// handshake, and resumes TLS sessions when reconnecting. It decides nothing about retries
// beyond replaying a replay-safe call once when a reused keep-alive connection turns out to
// have been closed by the server; everything else is reported upwards as a TransportFailure.
// Through a proxy, a connection is a TCP connection to the proxy, a CONNECT exchange (bounded
// in size and time), then the same TLS handshake with the API host inside the tunnel; a
// refused CONNECT is a connect failure naming the proxy's answer.
// Deadlines (connect, CONNECT, handshake, each call) are kept by one watchdog per pool, a
// timer ticking while any is running, not by a timer per read and write: Beast's timed
// stream did that and cost about a tenth of the CPU per job.
// Runs on a single-threaded executor: slots and waiters need no locks.
#include "api/https_pool.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "api/http_wire.hpp"
#include "api/pool_slots.hpp"
#include "util/wait_line.hpp"

namespace submitd::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// Responses are small JSON documents; refuse anything absurd instead of buffering it.
constexpr std::uint64_t kMaxResponseBody = 8 * 1024 * 1024;
// Reads ask for up to one TLS record's worth of bytes.
constexpr std::size_t kReadSize = 16 * 1024;
// A proxy's answer to CONNECT is a status line and a few headers.
constexpr std::uint32_t kMaxProxyAnswerHead = 16 * 1024;

using TlsStream = ssl::stream<tcp::socket>;

struct Connection {
  std::unique_ptr<TlsStream> stream;
  beast::flat_buffer buffer;
  std::string request;  // the request being sent; its capacity is reused call after call
  SSL_SESSION* session = nullptr;  // kept to resume TLS on reconnect
  const SSL_SESSION* session_copied_from = nullptr;  // the live session `session` copies (identity only)
  // While a connect or a call runs on this connection, `watched` is its socket, which the
  // watchdog closes once `deadline` has passed (then `timed_out` is set); null otherwise.
  tcp::socket* watched = nullptr;
  std::chrono::steady_clock::time_point deadline;
  bool timed_out = false;

  ~Connection() {
    if (session != nullptr) SSL_SESSION_free(session);
  }
};

// What an operation on `c` failed with: a timeout when the watchdog had closed its socket.
error_code timed(const Connection& c, const error_code& ec) {
  return ec && c.timed_out ? error_code(beast::error::timeout) : ec;
}

TransportFailure io_failure(const error_code& ec) {
  return ec == beast::error::timeout ? TransportFailure::timeout : TransportFailure::reset;
}

}  // namespace

struct HttpsPool::Impl : std::enable_shared_from_this<HttpsPool::Impl> {
  asio::any_io_executor executor;
  PoolSettings settings;
  const Clock& clock;
  std::string host_header;
  ssl::context tls{ssl::context::tls_client};
  std::vector<std::unique_ptr<Connection>> connections;
  PoolSlots slots;
  WaitLine waiting;  // calls waiting for a free slot
  CallObserver observer;
  bool stopping = false;
  std::uint64_t lookups = 0;
  asio::steady_timer watchdog_timer;
  bool watchdog_running = false;

  Impl(asio::any_io_executor ex, PoolSettings s, const Clock& c)
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

  void drop(std::size_t slot, bool after_failure) {
    Connection& c = *connections[slot];
    if (c.stream) {
      error_code ignored;
      c.stream->next_layer().close(ignored);
      c.stream.reset();
      c.buffer.clear();
    }
    c.watched = nullptr;
    slots.closed(slot, after_failure);
  }

  asio::awaitable<std::optional<PoolSlots::Lease>> acquire() {
    for (;;) {
      if (stopping) co_return std::nullopt;
      if (auto lease = slots.acquire(clock.now())) co_return lease;
      co_await waiting.wait();  // woken by a release (or shutdown): try again
    }
  }

  void release(std::size_t slot) {
    slots.release(slot, clock.now());
    waiting.wake_one(true);
  }

  // Resolves `host` (the API host, or the proxy) with the connect deadline (getaddrinfo has
  // none of its own that we control). Resolving on every connect picks up a changed DNS
  // answer: no endpoint is ever cached.
  asio::awaitable<std::optional<tcp::resolver::results_type>> resolve(const std::string& host, std::uint16_t port,
                                                                      const std::string& what, HttpResult& out) {
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
  asio::awaitable<bool> open_tunnel(Connection& c, tcp::socket& tcp, HttpResult& out) {
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

  // Opens a verified TLS connection in `slot`; on failure fills `out` and returns false.
  asio::awaitable<bool> connect(std::size_t slot, HttpResult& out) {
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
    co_return true;
  }

  // Keeps a private copy of the connection's TLS session. A copy, because OpenSSL marks the
  // live session object not resumable when its connection later dies with an error (as a
  // keep-alive connection the server dropped does), which would spoil the next resumption.
  void remember_session(Connection& c) {
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

  // One request/response on an open connection. `stale` is set when the failure looks like
  // the server had closed a reused connection before seeing the request.
  asio::awaitable<void> exchange(std::size_t slot, const HttpCall& call, HttpResult& out, bool& stale) {
    Connection& c = *connections[slot];
    if (!write_request(c.request, call, host_header, "bytenite-submitd/" SUBMITD_VERSION)) {
      out.failure = TransportFailure::connect;
      out.failure_detail = "refused to send a request whose path or token holds a control character";
      co_return;  // nothing was sent: the connection stays as it was
    }
    const Watched watched = watch(c, c.stream->next_layer(), settings.request_timeout);
    auto [wec, wn] = co_await asio::async_write(*c.stream, asio::buffer(c.request), kTuple);
    wec = timed(c, wec);
    if (wec) {
      out.failure = io_failure(wec);
      out.failure_detail = "sending the request failed: " + wec.message();
      stale = wec != beast::error::timeout;
      drop(slot, true);
      co_return;
    }
    // Interim answers (1xx, e.g. 103 Early Hints) are read past to the final one: taking one
    // as the answer would also leave the real answer to be read as the next call's.
    std::optional<ResponseReader> parser;
    error_code rec;
    std::size_t received = 0;  // bytes of this call's answers, interim ones included
    for (int interim = 0;; ++interim) {
      parser.emplace(kMaxResponseBody);
      rec = co_await read_answer(c, *parser, received);
      if (rec || !is_interim(parser->status())) break;
      if (interim == kMaxInterimAnswers) {
        out.failure = TransportFailure::reset;
        out.failure_detail = "the server sent more than " + std::to_string(kMaxInterimAnswers) +
                             " interim (1xx) answers and no final one";
        drop(slot, true);
        co_return;
      }
    }
    if (rec) {
      out.failure = io_failure(rec);
      out.failure_detail = rec == beast::error::timeout
                               ? "no response within the deadline"
                               : "connection lost before the response: " + rec.message();
      // Nothing at all came back and the server closed: the classic stale keep-alive case
      // (stream_truncated is a TLS peer that closed without close_notify, which servers do).
      stale = received == 0 && (rec == http::error::end_of_stream || rec == asio::error::eof ||
                          rec == asio::error::connection_reset ||
                          rec == ssl::error::stream_truncated);
      drop(slot, true);
      co_return;
    }
    out.status = parser->status();
    out.body = std::move(parser->body());
    out.retry_after = parser->retry_after();
    remember_session(c);
    slots.call_done(slot);
    if (!parser->keep_alive()) drop(slot, false);
  }

  // Reads one answer on `c` into `reader`: what c.buffer already holds first, then reads of
  // up to one TLS record at a time. Bytes after the answer stay in c.buffer.
  asio::awaitable<error_code> read_answer(Connection& c, ResponseReader& reader, std::size_t& received) {
    error_code ec;
    Fed fed = feed(reader, c.buffer, ec);
    while (fed == Fed::more) {
      auto [rec, n] = co_await c.stream->async_read_some(c.buffer.prepare(kReadSize), kTuple);
      c.buffer.commit(n);
      received += n;
      if (n > 0) {
        fed = feed(reader, c.buffer, ec);  // an error, if any, comes again with the next read
      } else if (rec == asio::error::eof) {
        fed = feed_close(reader, ec);
      } else {
        co_return timed(c, rec ? rec : error_code(asio::error::connection_reset));
      }
    }
    co_return fed == Fed::done ? error_code{} : ec;
  }

  // Ends the watch of a connection when the connect or call is over.
  struct Watched {
    explicit Watched(Connection& watched) : c(watched) {}
    Watched(const Watched&) = delete;
    Watched& operator=(const Watched&) = delete;
    Connection& c;
    ~Watched() { c.watched = nullptr; }
  };

  // Puts `socket` (of `c`) under the watchdog with `limit` from now, starting the watchdog if
  // it is not running.
  [[nodiscard]] Watched watch(Connection& c, tcp::socket& socket, std::chrono::milliseconds limit) {
    c.watched = &socket;
    restart_deadline(c, limit);
    if (!watchdog_running) {
      watchdog_running = true;
      asio::co_spawn(executor, watchdog(shared_from_this()), asio::detached);
    }
    return Watched{c};
  }

  // The next step of a connect (CONNECT, handshake) gets a deadline of its own.
  static void restart_deadline(Connection& c, std::chrono::milliseconds limit) {
    c.deadline = std::chrono::steady_clock::now() + limit;
    c.timed_out = false;
  }

  // Ticks while anything is watched (a tenth of the shorter timeout, 5-100 ms: a deadline is
  // met that much late at most) and closes the socket of whatever is past its deadline (closed,
  // not cancelled: connecting would go on to the next address); ends when nothing is watched,
  // and at shutdown.
  asio::awaitable<void> watchdog(std::shared_ptr<Impl> /*keeps the pool alive while it ticks*/) {
    const auto tick = std::clamp<std::chrono::milliseconds>(
        std::min(settings.request_timeout, settings.connect_timeout) / 10, std::chrono::milliseconds(5),
        std::chrono::milliseconds(100));
    for (bool watching = true; watching && !stopping;) {
      watchdog_timer.expires_after(tick);
      co_await watchdog_timer.async_wait(kTuple);
      const auto now = std::chrono::steady_clock::now();
      watching = false;
      for (auto& c : connections) {
        if (c->watched == nullptr) continue;
        watching = true;
        if (now < c->deadline || c->timed_out) continue;
        c->timed_out = true;
        error_code ignored;
        c->watched->close(ignored);
      }
    }
    watchdog_running = false;
  }

  asio::awaitable<HttpResult> send(const HttpCall& call) {
    auto self = shared_from_this();  // keep the pool alive while this call runs
    auto started = std::chrono::steady_clock::now();
    HttpResult out;
    auto lease = co_await acquire();
    if (!lease) {
      out.failure = TransportFailure::connect;
      out.failure_detail = "shutting down";
      co_return out;
    }
    if (lease->close_first) drop(lease->slot, false);
    for (int attempt = 0; attempt < 2; ++attempt) {
      out = HttpResult{};
      bool reused = static_cast<bool>(connections[lease->slot]->stream);
      if (!reused && !co_await connect(lease->slot, out)) break;
      bool stale = false;
      co_await exchange(lease->slot, call, out, stale);
      if (out.has_response() || !PoolSlots::should_replay(reused, stale, call.replay_safe, attempt)) break;
      // A reused connection died under a replay-safe call: try once more on a fresh one.
    }
    release(lease->slot);
    if (observer) observer(call, out, std::chrono::steady_clock::now() - started);
    co_return out;
  }

  void shutdown() {
    stopping = true;
    watchdog_timer.cancel();
    waiting.wake_all(false);
    for (std::size_t i = 0; i < connections.size(); ++i) {
      if (!slots.health(i).busy) drop(i, false);
    }
  }
};

namespace {
const SystemClock kSystemClock;
}  // namespace

HttpsPool::HttpsPool(asio::any_io_executor executor, PoolSettings settings)
    : HttpsPool(std::move(executor), std::move(settings), kSystemClock) {}

HttpsPool::HttpsPool(asio::any_io_executor executor, PoolSettings settings, const Clock& clock)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(settings), clock)) {}

HttpsPool::~HttpsPool() { shutdown(); }

asio::awaitable<HttpResult> HttpsPool::send(const HttpCall& call) { return impl_->send(call); }

void HttpsPool::set_observer(CallObserver observer) { impl_->observer = std::move(observer); }

std::size_t HttpsPool::open_connections() const { return impl_->slots.open_count(); }

PoolStats HttpsPool::stats() const {
  const PoolSlots& s = impl_->slots;
  return PoolStats{s.open_count(), s.busy_count(), s.connects(), s.resumed_connects(), impl_->lookups};
}

void HttpsPool::shutdown() { impl_->shutdown(); }

}  // namespace submitd::api
