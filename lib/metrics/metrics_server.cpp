// Role: the metrics port (see metrics_server.hpp).
#include "metrics/metrics_server.hpp"

#include <prometheus/text_serializer.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <system_error>

#include "util/log.hpp"
#include "util/log_limiter.hpp"

namespace submitd::metrics {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t kMaxHeaderBytes = 8 * 1024;
}  // namespace

std::string scrape_text(const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables) {
  std::vector<prometheus::MetricFamily> families;
  for (const auto& c : collectables) {
    auto some = c->Collect();
    families.insert(families.end(), std::make_move_iterator(some.begin()), std::make_move_iterator(some.end()));
  }
  return prometheus::TextSerializer().Serialize(families);
}

struct MetricsServer::Impl : std::enable_shared_from_this<Impl> {
  MetricsServerSettings settings;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
  HealthAnswer health;
  tcp::acceptor acceptor;
  std::size_t open = 0;
  bool stopping = false;
  log::Limiter refused_log{std::chrono::seconds(60)};

  Impl(asio::any_io_executor ex, MetricsServerSettings s, std::vector<std::shared_ptr<prometheus::Collectable>> c,
       HealthAnswer h)
      : settings(std::move(s)), collectables(std::move(c)), health(std::move(h)), acceptor(ex) {
    const tcp::endpoint at(asio::ip::make_address(settings.host), settings.port);
    acceptor.open(at.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(at);
    acceptor.listen(asio::socket_base::max_listen_connections);
  }

  http::response<http::string_body> answer(const http::request<http::empty_body>& req) {
    http::response<http::string_body> res;
    res.version(11);
    res.set(http::field::server, "bytenite-submitd/" SUBMITD_VERSION);
    const bool get = req.method() == http::verb::get || req.method() == http::verb::head;
    const auto target = req.target().substr(0, req.target().find('?'));
    if (!get) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::content_type, "text/plain");
      res.body() = "use GET\n";
    } else if (target == "/metrics") {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = scrape_text(collectables);
    } else if (target == "/healthz") {
      auto [status, body] = health();
      res.result(static_cast<unsigned>(status));
      res.set(http::field::content_type, "application/json");
      res.body() = std::move(body);
    } else {
      res.result(http::status::not_found);
      res.set(http::field::content_type, "text/plain");
      res.body() = "not found: try /metrics or /healthz\n";
    }
    res.prepare_payload();  // HEAD: the length GET would have, without the body
    if (req.method() == http::verb::head) res.body().clear();
    return res;
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    auto self = shared_from_this();  // the connection may outlive the server's owner
    struct Count {
      Impl& i;
      ~Count() { --i.open; }
    } count{*this};
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::empty_body> parser;
      parser.header_limit(kMaxHeaderBytes);
      stream.expires_after(settings.read_timeout);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
      if (ec) co_return;  // closed, too slow, or not HTTP: nothing to answer a scraper
      const auto& req = parser.get();
      auto res = answer(req);
      res.keep_alive(req.keep_alive());
      stream.expires_after(settings.read_timeout);
      auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
      if (wec || !req.keep_alive() || stopping) co_return;
    }
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    while (!stopping) {
      auto [ec, socket] = co_await acceptor.async_accept(kTuple);
      if (stopping) break;
      if (ec) continue;
      if (open >= settings.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);
        if (auto skipped = refused_log.allow(std::chrono::steady_clock::now())) {
          log::warn("metrics port: {} connections open, the most allowed: closing more{}", settings.max_connections,
                    log::Limiter::note(*skipped));
        }
        continue;
      }
      ++open;
      asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), [](std::exception_ptr e) {
        log::escaped(e, "metrics connection");
      });
    }
  }
};

MetricsServer::MetricsServer(asio::any_io_executor executor, MetricsServerSettings settings,
                             std::vector<std::shared_ptr<prometheus::Collectable>> collectables, HealthAnswer health)
    : impl_(std::make_shared<Impl>(executor, std::move(settings), std::move(collectables), std::move(health))) {}

MetricsServer::~MetricsServer() { stop(); }

std::uint16_t MetricsServer::port() const { return impl_->acceptor.local_endpoint().port(); }

asio::awaitable<void> MetricsServer::run() { return impl_->run(); }

void MetricsServer::stop() {
  impl_->stopping = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
}

}  // namespace submitd::metrics
