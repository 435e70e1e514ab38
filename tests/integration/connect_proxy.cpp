// Role: the test CONNECT proxy (see connect_proxy.hpp).
#include "connect_proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>

namespace submitd::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// The value of header `name` (lower-case) in a request head, or nullopt.
std::optional<std::string> header_value(const std::string& head, const std::string& name) {
  std::string low = lower(head);
  auto at = low.find("\r\n" + name + ":");
  if (at == std::string::npos) return std::nullopt;
  auto start = at + 2 + name.size() + 1;
  auto end = head.find("\r\n", start);
  std::string v = head.substr(start, end - start);
  while (!v.empty() && v.front() == ' ') v.erase(0, 1);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

struct Tunnel {
  explicit Tunnel(tcp::socket c) : client(std::move(c)), upstream(client.get_executor()) {}
  tcp::socket client;
  tcp::socket upstream;
};

// Copies from `from` to `to` until `from` ends, then ends `to`'s sending side.
asio::awaitable<void> pump(std::shared_ptr<Tunnel> t, bool to_upstream, std::atomic<std::size_t>& bytes) {
  tcp::socket& from = to_upstream ? t->client : t->upstream;
  tcp::socket& to = to_upstream ? t->upstream : t->client;
  std::vector<char> buf(16 * 1024);
  for (;;) {
    auto [rec, n] = co_await from.async_read_some(asio::buffer(buf), kTuple);
    if (n > 0) {
      auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf.data(), n), kTuple);
      bytes += wn;
      if (wec) break;
    }
    if (rec) break;
  }
  boost::system::error_code ignored;
  to.shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace

struct ConnectProxy::Impl {
  static asio::awaitable<void> answer(tcp::socket& s, const std::string& text) {
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(text), kTuple);
    (void)ec;
    (void)n;
  }

  static asio::awaitable<void> serve(ConnectProxy& proxy, tcp::socket client) {
    asio::streambuf buf(16 * 1024);
    auto [ec, n] = co_await asio::async_read_until(client, buf, "\r\n\r\n", kTuple);
    if (ec) co_return;
    std::string head(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<std::ptrdiff_t>(n));
    buf.consume(n);
    auto line_end = head.find("\r\n");
    std::string line = head.substr(0, line_end);
    auto sp1 = line.find(' ');
    auto sp2 = line.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos || line.substr(0, sp1) != "CONNECT") {
      co_await answer(client, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      co_return;
    }
    std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    Mode mode = proxy.mode_;
    bool authorized = !proxy.required_authorization_ ||
                      header_value(head, "proxy-authorization") == proxy.required_authorization_;
    if (mode == Mode::refuse_407 || !authorized) {
      ++proxy.refusals_;
      co_await answer(client,
                      "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"it\"\r\n"
                      "Content-Length: 13\r\nConnection: close\r\n\r\nnot permitted");
      co_return;
    }
    if (mode == Mode::refuse_403) {
      ++proxy.refusals_;
      co_await answer(client, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      co_return;
    }
    auto colon = target.rfind(':');
    std::string host = target.substr(0, colon);
    std::string port = colon == std::string::npos ? "443" : target.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    tcp::resolver resolver(client.get_executor());
    auto [rec, results] = co_await resolver.async_resolve(host, port, kTuple);
    std::vector<tcp::endpoint> loopback;
    if (!rec) {
      for (const auto& r : results) {
        if (r.endpoint().address().is_loopback()) loopback.push_back(r.endpoint());
      }
    }
    if (loopback.empty()) {  // never anywhere but this machine
      ++proxy.refusals_;
      co_await answer(client, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      co_return;
    }
    auto tunnel = std::make_shared<Tunnel>(std::move(client));
    auto [cec, ep] = co_await asio::async_connect(tunnel->upstream, loopback, kTuple);
    if (cec) {
      co_await answer(tunnel->client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      co_return;
    }
    co_await answer(tunnel->client, "HTTP/1.1 200 Connection established\r\n\r\n");
    ++proxy.tunnels_;
    {
      std::lock_guard lock(proxy.mutex_);
      proxy.targets_.push_back(target);
    }
    if (buf.size() > 0) {  // the client did not wait for our answer
      auto [wec, wn] = co_await asio::async_write(tunnel->upstream, buf.data(), kTuple);
      if (wec) co_return;
      proxy.bytes_ += wn;
    }
    asio::co_spawn(tunnel->client.get_executor(), pump(tunnel, true, proxy.bytes_), asio::detached);
    co_await pump(tunnel, false, proxy.bytes_);
  }

  static asio::awaitable<void> accept_loop(ConnectProxy& proxy) {
    for (;;) {
      auto [ec, socket] = co_await proxy.acceptor_.async_accept(kTuple);
      if (ec) co_return;
      ++proxy.connections_;
      asio::co_spawn(proxy.io_, serve(proxy, std::move(socket)), asio::detached);
    }
  }
};

ConnectProxy::ConnectProxy(std::optional<std::string> required_authorization)
    : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
      required_authorization_(std::move(required_authorization)) {
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(io_, Impl::accept_loop(*this), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

ConnectProxy::~ConnectProxy() {
  io_.stop();
  thread_.join();
}

std::vector<std::string> ConnectProxy::targets() const {
  std::lock_guard lock(mutex_);
  return targets_;
}

}  // namespace submitd::testing
