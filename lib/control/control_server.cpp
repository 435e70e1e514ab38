// Role: the control socket's HTTP transport (see control_server.hpp).
#include "control/control_server.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

#include "control/connection_limit.hpp"
#include "util/log.hpp"
#include "util/log_limiter.hpp"

namespace submitd::control {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;
using Stream = beast::basic_stream<local, asio::any_io_executor>;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t kMaxHeaderBytes = 16 * 1024;

// The open-connection count, shared with each connection's Slot: a connection's coroutine may
// be destroyed after the server (when the io_context goes) and must not reach into it then.
struct OpenCount {
  std::size_t open = 0;
  std::function<void(std::size_t)> on_change;  // cleared when the server goes
  void add(bool one_more) {
    open = one_more ? open + 1 : open - 1;
    if (on_change) on_change(open);
  }
};

// One open connection, counted from its accept to the end of its coroutine (whichever way
// it ends: the client closes, the read timeout, an exception, the io_context going).
class Slot {
 public:
  explicit Slot(std::shared_ptr<OpenCount> count) : count_(std::move(count)) { count_->add(true); }
  Slot(Slot&&) noexcept = default;
  Slot& operator=(Slot&&) = delete;
  ~Slot() {
    if (count_) count_->add(false);
  }

 private:
  std::shared_ptr<OpenCount> count_;
};

}  // namespace

struct ControlServer::Impl {
  asio::any_io_executor executor;
  ServerSettings settings;
  ControlApi& api;
  local::acceptor acceptor;
  bool created = false;  // we made the socket file (and remove it at the end)
  bool stopping = false;
  std::shared_ptr<OpenCount> count = std::make_shared<OpenCount>();
  const std::string busy = busy_response(settings.max_connections);
  AcceptTrouble accept_trouble;
  log::Limiter refused_log{std::chrono::seconds(60)};

  Impl(asio::any_io_executor ex, ServerSettings s, ControlApi& a)
      : executor(ex), settings(std::move(s)), api(a), acceptor(ex) {
    count->on_change = settings.on_open_changed;
    boost::system::error_code ec;
    if (settings.adopted_fd >= 0) {
      acceptor.assign(local(), settings.adopted_fd, ec);
      if (ec) throw std::runtime_error("cannot use the control socket from systemd: " + ec.message());
      return;
    }
    // A socket file left by an earlier run (or a crash) would make bind fail: it is ours.
    struct stat st {};
    if (::lstat(settings.path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
        throw std::runtime_error(settings.path.string() + " exists and is not a socket; not replacing it");
      }
      ::unlink(settings.path.c_str());
    }
    acceptor.open(local(), ec);
    if (!ec) acceptor.bind(local::endpoint(settings.path.string()), ec);
    if (ec) throw std::runtime_error("cannot create the control socket " + settings.path.string() + ": " + ec.message());
    created = true;
    if (::chmod(settings.path.c_str(), 0660) != 0) {
      throw std::runtime_error("cannot set mode 0660 on " + settings.path.string() + ": " + std::strerror(errno));
    }
    if (settings.group) {
      struct group* g = ::getgrnam(settings.group->c_str());
      if (g == nullptr || ::chown(settings.path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
        throw std::runtime_error("cannot give " + settings.path.string() + " to group " + *settings.group);
      }
    }
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + settings.path.string() + ": " + ec.message());
  }

  ~Impl() {
    count->on_change = nullptr;
    if (created) ::unlink(settings.path.c_str());
  }

  // `slot` counts this connection as open until the coroutine ends.
  asio::awaitable<void> serve(local::socket socket, [[maybe_unused]] Slot slot) {
    Stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(kMaxHeaderBytes);
      parser.body_limit(settings.max_body_bytes);
      stream.expires_after(settings.read_timeout);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
          ec == asio::error::operation_aborted) {
        co_return;  // the client is done, or too slow: close
      }
      http::response<http::string_body> res;
      bool keep_alive = false;
      if (ec == http::error::body_limit) {
        res.result(413);
        res.body() = error_json("the body is larger than " + std::to_string(settings.max_body_bytes) + " bytes");
      } else if (ec == http::error::header_limit) {
        res.result(431);
        res.body() = error_json("the request head is too large");
      } else if (ec) {
        res.result(400);
        res.body() = error_json("not an HTTP/1.1 request: " + ec.message());
      } else {
        auto& req = parser.get();
        keep_alive = req.keep_alive();
        ControlAnswer a = api.handle(req.method_string(), req.target(), req.body());
        if (a.pending) a = co_await stored(std::move(a.pending));
        res.result(static_cast<unsigned>(a.status));
        res.body() = std::move(a.body);
        if (a.retry_after_s) res.set(http::field::retry_after, std::to_string(*a.retry_after_s));
        if (req.method() == http::verb::head) res.body().clear();
      }
      res.version(11);
      res.set(http::field::content_type, "application/json");
      res.set(http::field::server, "bytenite-submitd/" SUBMITD_VERSION);
      res.keep_alive(keep_alive);
      res.prepare_payload();
      stream.expires_after(settings.read_timeout);
      auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
      if (wec || !keep_alive || stopping) co_return;
    }
  }

  // A post's answer, once its requests are durable: the store's completion arrives on the
  // I/O thread, and this connection waits for it without holding the thread.
  asio::awaitable<ControlAnswer> stored(std::shared_ptr<PendingPost> post) {
    return asio::async_initiate<decltype(asio::use_awaitable), void(ControlAnswer)>(
        [this, post = std::move(post)](auto handler) mutable {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          api.store(std::move(post), [h](ControlAnswer answer) { (*h)(std::move(answer)); });
        },
        asio::use_awaitable);
  }

  // Past the cap: answer and close at once, without waiting on the client, so neither the
  // accept loop nor a descriptor is held. What the client already sent is read (and dropped)
  // first: a Unix socket closed with unread data resets its peer, which could lose the answer.
  void refuse(local::socket& socket) {
    const int fd = socket.native_handle();
    char sink[4096];
    for (int i = 0; i < 16 && ::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
    }
    // A fresh socket's send buffer takes these few hundred bytes whole; if not, the client
    // sees the connection closed, which is still an answer.
    [[maybe_unused]] ssize_t sent = ::send(fd, busy.data(), busy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    boost::system::error_code ignored;
    socket.close(ignored);
    if (settings.on_refused) settings.on_refused();
    if (auto skipped = refused_log.allow(std::chrono::steady_clock::now())) {
      log::warn("control socket: {} connections open, the most allowed: refusing more with 503{}",
                settings.max_connections, log::Limiter::note(*skipped));
    }
  }

  void accept_failed(const boost::system::error_code& ec) {
    if (auto skipped = accept_trouble.failed(std::chrono::steady_clock::now())) {
      log::warn("control socket: accept failed: {}; trying again every {} ms{}", ec.message(),
                kAcceptBackoff.count(), log::Limiter::note(*skipped));
    }
  }

  asio::awaitable<void> run() {
    while (!stopping) {
      auto [ec, socket] = co_await acceptor.async_accept(kTuple);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) break;
        // E.g. out of descriptors: pause instead of spinning (a connection left waiting keeps
        // the listening socket readable), and say so once per spell.
        accept_failed(ec);
        asio::steady_timer pause(executor, kAcceptBackoff);
        co_await pause.async_wait(kTuple);
        continue;
      }
      if (auto failures = accept_trouble.succeeded()) {
        log::info("control socket: accepting again ({} accepts failed meanwhile)", *failures);
      }
      if (count->open >= settings.max_connections) {
        refuse(socket);
        continue;
      }
      // Counted here, not when serve() first runs: co_spawn only posts it, and a burst of
      // accepts must see the connections accepted just before.
      asio::co_spawn(executor, serve(std::move(socket), Slot(count)),
                     [](std::exception_ptr e) { log::escaped(e, "control socket: a connection"); });
    }
  }
};

ControlServer::ControlServer(asio::any_io_executor executor, ServerSettings settings, ControlApi& api)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(settings), api)) {}

ControlServer::~ControlServer() = default;

asio::awaitable<void> ControlServer::run() { return impl_->run(); }

void ControlServer::stop() {
  impl_->stopping = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
}

const std::filesystem::path& ControlServer::path() const { return impl_->settings.path; }

std::size_t ControlServer::open_connections() const { return impl_->count->open; }

}  // namespace submitd::control
