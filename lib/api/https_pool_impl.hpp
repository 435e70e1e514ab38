// Role: the inside of HttpsPool, shared by the pool's two translation units and included by
// them alone: https_pool.cpp (slots, calls on open connections, the watchdog, shutdown) and
// https_connect.cpp (resolving, the proxy tunnel, the TLS handshake). It brings in Asio's SSL
// and Beast, which no other translation unit should have to compile.
// Runs on a single-threaded executor: slots and waiters need no locks.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/http_wire.hpp"
#include "api/https_pool.hpp"
#include "api/pool_slots.hpp"
#include "util/wait_line.hpp"

namespace submitd::api {
namespace pool_detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// A file body is sent this much at a time.
inline constexpr std::size_t kFileChunk = 256 * 1024;

using TlsStream = ssl::stream<tcp::socket>;

struct Connection {
  std::unique_ptr<TlsStream> stream;
  beast::flat_buffer buffer;
  std::string request;  // the request being sent; its capacity is reused call after call
  std::vector<char> chunk;  // a file body's next bytes (uploads only; allocated at the first)
  SSL_SESSION* session = nullptr;  // kept to resume TLS on reconnect
  const SSL_SESSION* session_copied_from = nullptr;  // the live session `session` copies (identity only)
  // While a connect or a call runs on this connection, `watched` is its socket, which the
  // watchdog closes once `deadline` has passed (then `timed_out` is set); null otherwise.
  tcp::socket* watched = nullptr;
  std::chrono::steady_clock::time_point deadline;
  bool timed_out = false;
  // Numbers the idle watches of this slot: a watch whose number is no longer current was
  // disowned (the connection was taken for a call or closed) and must do nothing.
  std::uint64_t idle_watch = 0;

  ~Connection() {
    if (session != nullptr) SSL_SESSION_free(session);
  }
};

// What an operation on `c` failed with: a timeout when the watchdog had closed its socket.
inline error_code timed(const Connection& c, const error_code& ec) {
  return ec && c.timed_out ? error_code(beast::error::timeout) : ec;
}

inline TransportFailure io_failure(const error_code& ec) {
  return ec == beast::error::timeout ? TransportFailure::timeout : TransportFailure::reset;
}

}  // namespace pool_detail

struct HttpsPool::Impl : std::enable_shared_from_this<HttpsPool::Impl> {
  using Connection = pool_detail::Connection;
  using tcp = pool_detail::tcp;
  using error_code = pool_detail::error_code;

  boost::asio::any_io_executor executor;
  PoolSettings settings;
  const Clock& clock;
  std::string host_header;
  boost::asio::ssl::context tls{boost::asio::ssl::context::tls_client};
  std::vector<std::unique_ptr<Connection>> connections;
  PoolSlots slots;
  WaitLine waiting;  // calls waiting for a free slot
  CallObserver observer;
  OpenConnectionsObserver open_observer;
  std::size_t reported_open = 0;
  bool stopping = false;
  std::uint64_t lookups = 0;
  boost::asio::steady_timer watchdog_timer;
  bool watchdog_running = false;

  // Ends the watch of a connection when the connect or call is over.
  struct Watched {
    explicit Watched(Connection& watched) : c(watched) {}
    Watched(const Watched&) = delete;
    Watched& operator=(const Watched&) = delete;
    Connection& c;
    ~Watched() { c.watched = nullptr; }
  };

  // Opening a connection: https_connect.cpp (the constructor sets up the TLS context's trust).
  Impl(boost::asio::any_io_executor ex, PoolSettings s, const Clock& c);
  boost::asio::awaitable<std::optional<tcp::resolver::results_type>> resolve(const std::string& host,
                                                                             std::uint16_t port,
                                                                             const std::string& what,
                                                                             HttpResult& out);
  boost::asio::awaitable<bool> open_tunnel(Connection& c, tcp::socket& tcp, HttpResult& out);
  std::unique_ptr<pool_detail::TlsStream> new_stream(const Connection& c);
  boost::asio::awaitable<bool> connect(std::size_t slot, HttpResult& out);
  void remember_session(Connection& c);

  // Slots, calls, the watchdog and shutdown: https_pool.cpp.
  void drop(std::size_t slot, bool after_failure);
  void report_open();
  void watch_idle(std::size_t slot);
  void unwatch_idle(std::size_t slot);
  boost::asio::awaitable<std::optional<PoolSlots::Lease>> acquire();
  void release(std::size_t slot);
  boost::asio::awaitable<void> exchange(std::size_t slot, const HttpCall& call, HttpResult& out, bool& stale);
  boost::asio::awaitable<bool> write_file_body(Connection& c, const FileBody& body, HttpResult& out);
  boost::asio::awaitable<error_code> read_answer(Connection& c, ResponseReader& reader, std::size_t& received,
                                                 BodySink* sink);
  [[nodiscard]] Watched watch(Connection& c, tcp::socket& socket, std::chrono::milliseconds limit);
  boost::asio::awaitable<void> watchdog(std::shared_ptr<Impl> keep_alive);
  boost::asio::awaitable<HttpResult> send(const HttpCall& call);
  void shutdown();

  // The next step of a connect (CONNECT, handshake) gets a deadline of its own.
  static void restart_deadline(Connection& c, std::chrono::milliseconds limit) {
    c.deadline = std::chrono::steady_clock::now() + limit;
    c.timed_out = false;
  }
};

}  // namespace submitd::api
