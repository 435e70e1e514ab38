// Role: a small HTTP CONNECT proxy for the tests (plain Asio on a thread of its own): listens
// on 127.0.0.1 port 0, answers CONNECT with 200 and relays bytes both ways, or refuses with
// 407/403 when told to (switchable while running), optionally demands exact Basic
// credentials, and counts what it saw. It only ever connects to loopback addresses, so a test
// can never send traffic anywhere else. It stores no credentials, so nothing it reports can
// leak one into test output.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace submitd::testing {

class ConnectProxy {
 public:
  enum class Mode { tunnel, refuse_407, refuse_403 };

  // `required_authorization`: the exact Proxy-Authorization value to accept (e.g. "Basic ..."),
  // anything else gets 407. Unset: no credentials needed.
  explicit ConnectProxy(std::optional<std::string> required_authorization = std::nullopt);
  ~ConnectProxy();
  ConnectProxy(const ConnectProxy&) = delete;
  ConnectProxy& operator=(const ConnectProxy&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void set_mode(Mode m) { mode_ = m; }

  std::size_t connections() const { return connections_; }  // TCP connections accepted
  std::size_t tunnels() const { return tunnels_; }          // CONNECTs answered 200
  std::size_t refusals() const { return refusals_; }        // CONNECTs answered 407/403
  std::size_t bytes_relayed() const { return bytes_; }      // both ways, through tunnels
  std::vector<std::string> targets() const;                 // host:port of each tunnel, in order

 private:
  struct Impl;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::optional<std::string> required_authorization_;
  std::uint16_t port_ = 0;
  std::atomic<Mode> mode_{Mode::tunnel};
  std::atomic<std::size_t> connections_{0}, tunnels_{0}, refusals_{0}, bytes_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> targets_;
  std::thread thread_;
};

}  // namespace submitd::testing
