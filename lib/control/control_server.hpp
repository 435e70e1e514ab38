// Role: the control socket's transport: HTTP/1.1 over a Unix stream socket (Beast), created
// with mode 0660 (and an optional group), or adopted from systemd socket activation
// (LISTEN_FDS). Every read has a deadline, request heads and bodies have size limits, many
// clients are served at once, and whatever a client sends gets an HTTP answer (a JSON error
// at worst), never a crash. At most max_connections are open at once: one more is answered
// 503 and closed at once, so idle clients cannot take the descriptors the spool and the
// journal need. What to answer is ControlApi's decision.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "control/control_api.hpp"

namespace submitd::control {

struct ServerSettings {
  std::filesystem::path path;            // where to create the socket (unless adopted)
  std::optional<std::string> group;      // group owning the socket; unset: the daemon's
  int adopted_fd = -1;                   // a listening socket from systemd; -1: create one
  std::uint64_t max_body_bytes = 64 * 1024 * 1024;
  std::chrono::milliseconds read_timeout{10000};  // per request: head and body
  // Connections served at once (the daemon bounds it by the descriptors with
  // connection_limit.hpp's connection_cap); past it a connection gets busy_response() and is
  // closed at once, never queued.
  std::size_t max_connections = 256;
  // Told on the io thread: the open count after each change, and each connection refused.
  std::function<void(std::size_t open)> on_open_changed;
  std::function<void()> on_refused;
};

class ControlServer {
 public:
  // Binds (removing a stale socket file first) or adopts the listening socket. Throws
  // std::runtime_error with a reason.
  ControlServer(boost::asio::any_io_executor executor, ServerSettings settings, ControlApi& api);
  ~ControlServer();
  boost::asio::awaitable<void> run();  // accepts until stop()
  void stop();
  const std::filesystem::path& path() const;
  std::size_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace submitd::control
