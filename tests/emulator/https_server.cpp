// The HTTPS layer: Beast sessions over Asio SSL, one strand per connection, an io_context run
// by N threads. Each request is handed to Emulator::handle (plain C++), and the answer it
// returns is carried out here: write it (after an optional delay on an async timer, never
// blocking a thread), or drop the connection abruptly with a TCP RST to emulate a reset.
#include "https_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <csignal>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "api_errors.hpp"
#include "storage_server.hpp"
#include "tcp_reset.hpp"

namespace emulator {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

constexpr auto handshake_timeout = std::chrono::seconds{30};
constexpr auto write_timeout = std::chrono::seconds{30};
constexpr auto shutdown_timeout = std::chrono::seconds{5};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, ssl::context& tls, Emulator& emulator,
          std::chrono::seconds idle_timeout)
      : stream_(std::move(socket), tls),
        delay_(stream_.get_executor()),
        emulator_(emulator),
        idle_timeout_(idle_timeout) {}

  void start() {
    // The socket was accepted onto this session's strand; run everything there.
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::on_start, shared_from_this()));
  }

 private:
  void on_start() {
    beast::error_code ec;
    const auto peer = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    auto address = peer.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped())  // [::] listeners see ::ffff:a.b.c.d
      address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
    from_loopback_ = !ec && address.is_loopback();
    beast::get_lowest_layer(stream_).expires_after(handshake_timeout);
    stream_.async_handshake(ssl::stream_base::server,
                            beast::bind_front_handler(&Session::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    // A failed handshake is the client's to report (e.g. it does not trust our CA);
    // there is nothing to answer, so just let the connection go.
    if (ec) return;
    read_request();
  }

  void read_request() {
    parser_.emplace();
    parser_->body_limit(1024 * 1024);
    // The deadline doubles as the keep-alive idle timeout.
    beast::get_lowest_layer(stream_).expires_after(idle_timeout_);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    // The client closed cleanly between requests: close TLS politely.
    if (ec == http::error::end_of_stream) return shutdown();
    auto& req = parser_->get();
    ApiResponse answer;
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      // Say why instead of just hanging up, then close: the rest of the oversized
      // request is still unread on the wire.
      answer = rpc_status(ec == http::error::body_limit ? 413 : 431, grpc_code::invalid_argument,
                          "request too large");
      keep_alive_ = false;
    } else if (ec) {
      // Anything else (idle timeout, stream_truncated when the peer skips close_notify,
      // a reset, an unparsable request) ends the connection without an answer. The timed
      // stream has already closed the socket on a timeout, so once this is counted the
      // client can see the close: tests wait for the count instead of sleeping past it.
      if (ec == beast::error::timeout) emulator_.connection_closed_idle();
      return;
    } else {
      keep_alive_ = req.keep_alive();
      ApiRequest request{req.method_string(), req.target(), req[http::field::authorization],
                         req.body(), from_loopback_};
      try {
        answer = emulator_.handle(request);
      } catch (const std::exception&) {
        // A bug must cost one answer, not the whole server (an exception escaping a
        // handler would end io_context::run on this thread).
        answer = rpc_status(500, grpc_code::internal, "internal error in bytenite-emulator");
      }
    }
    if (answer.disposition == Disposition::reset_before) return reset();

    reset_after_work_ = answer.disposition == Disposition::reset_after_work;
    interim_103_ = answer.interim_103;
    response_ = {};
    response_.version(req.version());
    response_.result(static_cast<unsigned>(answer.status));
    response_.reason(reason_phrase(answer.status));
    response_.set(http::field::server, "bytenite-emulator");
    response_.set(http::field::content_type, "application/json");
    if (answer.retry_after_s)
      response_.set(http::field::retry_after, std::to_string(*answer.retry_after_s));
    response_.keep_alive(keep_alive_);
    response_.body() = std::move(answer.body);
    response_.prepare_payload();
    parser_.reset();

    if (answer.delay.count() > 0) {
      delay_.expires_after(answer.delay);
      delay_.async_wait(beast::bind_front_handler(&Session::on_delay, shared_from_this()));
    } else {
      send();
    }
  }

  void on_delay(beast::error_code ec) {
    if (ec) return;  // cancelled: the server is going away
    send();
  }

  void send() {
    if (reset_after_work_) return reset();
    beast::get_lowest_layer(stream_).expires_after(write_timeout);
    if (interim_103_) {
      // An interim answer first, as a proxy or load balancer may send: the client must read
      // past it to the real one.
      static constexpr std::string_view kEarlyHints =
          "HTTP/1.1 103 Early Hints\r\nLink: </v1/openapi.json>; rel=preload\r\n\r\n";
      net::async_write(stream_, net::buffer(kEarlyHints.data(), kEarlyHints.size()),
                        beast::bind_front_handler(&Session::on_interim_written, shared_from_this()));
      return;
    }
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_interim_written(beast::error_code ec, std::size_t) {
    if (ec) return;
    interim_103_ = false;
    send();
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return;
    if (!keep_alive_) return shutdown();
    read_request();
  }

  void shutdown() {
    beast::get_lowest_layer(stream_).expires_after(shutdown_timeout);
    stream_.async_shutdown(beast::bind_front_handler(&Session::on_shutdown, shared_from_this()));
  }

  void on_shutdown(beast::error_code) {
    // Errors here (peer already gone, no close_notify back) change nothing: the socket
    // is closed when the session is destroyed.
  }

  // Emulates a connection reset (no TLS close_notify, no HTTP answer).
  void reset() { reset_connection(beast::get_lowest_layer(stream_)); }

  beast::ssl_stream<beast::tcp_stream> stream_;
  net::steady_timer delay_;
  Emulator& emulator_;
  const std::chrono::seconds idle_timeout_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  bool keep_alive_ = true;
  bool reset_after_work_ = false;
  bool interim_103_ = false;
  bool from_loopback_ = false;
};

// Hands an accepted connection (on its own strand) to its session.
using StartSession = std::function<void(tcp::socket&&)>;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& io, const ServerSettings& settings, std::uint16_t port, StartSession start_session)
      : io_(io),
        start_session_(std::move(start_session)),
        acceptor_(net::make_strand(io)),
        retry_(acceptor_.get_executor()) {
    beast::error_code ec;
    const auto address = net::ip::make_address(settings.host, ec);
    if (ec) throw std::runtime_error("--listen: bad address " + settings.host);
    const tcp::endpoint endpoint{address, port};
    auto check = [&](const char* what) {
      if (ec)
        throw std::runtime_error(std::string("cannot listen on ") + settings.host + ":" +
                                 std::to_string(port) + ": " + what + ": " + ec.message());
    };
    acceptor_.open(endpoint.protocol(), ec);
    check("open");
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    check("SO_REUSEADDR");
    acceptor_.bind(endpoint, ec);
    check("bind");
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    check("listen");
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void run() { accept(); }

  void stop() {
    net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
      self->retry_.cancel();
    });
  }

 private:
  void accept() {
    // Each connection gets its own strand: its handlers never run concurrently, while
    // different connections use all threads.
    acceptor_.async_accept(net::make_strand(io_),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // E.g. EMFILE: back off briefly instead of spinning on the same error.
      retry_.expires_after(std::chrono::milliseconds{100});
      retry_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec) self->accept();
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    start_session_(std::move(socket));
    accept();
  }

  net::io_context& io_;
  StartSession start_session_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
};

}  // namespace

void serve_https(const ServerSettings& settings, Emulator& emulator,
                 const std::function<void(std::uint16_t, std::uint16_t)>& on_listening) {
  // Declared before the io_context so it outlives every session that refers to it.
  ssl::context tls{ssl::context::tls_server};
  tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  beast::error_code ec;
  tls.use_certificate_chain(net::buffer(settings.cert_chain_pem), ec);
  if (ec) throw std::runtime_error("TLS certificate: " + ec.message());
  tls.use_private_key(net::buffer(settings.key_pem), ssl::context::pem, ec);
  if (ec) throw std::runtime_error("TLS private key: " + ec.message());

  const int threads = settings.threads < 1 ? 1 : settings.threads;
  net::io_context io{threads};

  // Installed before we announce readiness, so a SIGTERM right after the ready file
  // appears is never lost.
  net::signal_set signals(io, SIGINT, SIGTERM);
  auto listener = std::make_shared<Listener>(io, settings, settings.port, [&](tcp::socket&& socket) {
    std::make_shared<Session>(std::move(socket), tls, emulator, settings.idle_timeout)->start();
  });
  auto storage = std::make_shared<Listener>(io, settings, settings.storage_port, [&](tcp::socket&& socket) {
    start_storage_session(std::move(socket), tls, emulator, settings.idle_timeout);
  });
  const std::string host = settings.host.find(':') != std::string::npos ? "[" + settings.host + "]" : settings.host;
  emulator.set_storage_origin("https://" + host + ":" + std::to_string(storage->port()));
  signals.async_wait([&io, listener, storage](beast::error_code wait_ec, int) {
    if (wait_ec) return;
    listener->stop();
    storage->stop();
    // All state is in memory and dies with the process: there is nothing to drain or
    // flush, and a test waiting for exit should not wait for idle keep-alive clients.
    io.stop();
  });

  on_listening(listener->port(), storage->port());
  listener->run();
  storage->run();

  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads - 1));
  for (int i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
}

}  // namespace emulator
