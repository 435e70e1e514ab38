// Role: the metrics port: GET /metrics (the Prometheus text format of the registry and the
// process collector, serialized by prometheus-cpp) and GET /healthz (the control socket's
// health answer, so a load balancer or a probe that cannot reach the Unix socket sees the
// same thing), over HTTP/1.1 with Beast on the daemon's I/O thread. It replaces
// prometheus-cpp's Exposer, whose CivetWeb server only serves collectables: a health answer
// needs a status code from the daemon's state. Reads have a deadline and connections a cap,
// so idle clients can neither stall a scrape nor take the descriptors.
#pragma once

#include <prometheus/collectable.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace submitd::metrics {

struct MetricsServerSettings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 9464;  // 0: any free port (see port())
  std::size_t max_connections = 32;
  std::chrono::milliseconds read_timeout{2000};
};

// What /healthz answers: an HTTP status and a JSON body.
using HealthAnswer = std::function<std::pair<int, std::string>()>;

class MetricsServer {
 public:
  // Binds and listens at once; throws std::system_error when it cannot (the caller words it).
  MetricsServer(boost::asio::any_io_executor executor, MetricsServerSettings settings,
                std::vector<std::shared_ptr<prometheus::Collectable>> collectables, HealthAnswer health);
  ~MetricsServer();
  std::uint16_t port() const;
  boost::asio::awaitable<void> run();  // accepts until stop()
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The body of a scrape: every family of every collectable in the text format.
std::string scrape_text(const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables);

}  // namespace submitd::metrics
