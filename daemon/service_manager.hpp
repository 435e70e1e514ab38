// Role: the daemon's side of its service manager (systemd) and of the process's life: runs
// the submission engine (its end ends the daemon), stops on SIGTERM/SIGINT with a grace period
// for calls in flight, reloads on SIGHUP (configuration and API key), and keeps systemd told:
// a STATUS= line and the watchdog heartbeat while the loop turns.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "control/control_api.hpp"
#include "daemon_parts.hpp"

namespace submitd::control {
class ControlServer;
}

namespace submitd {

// STATUS=... as systemctl status shows it, from the same snapshot as /v1/status.
std::string systemd_status_line(const control::DaemonStatus& status);

class ServiceManager {
 public:
  // `control_server` may be null (no control socket). `api_key` is the key the token cache
  // started with: a SIGHUP compares the re-read key to it. Never logged.
  ServiceManager(boost::asio::io_context& io, DaemonParts parts,
                 control::ControlServer* control_server, std::string config_path,
                 std::string api_key);

  // Before io.run(): spawns the submission engine, listens for signals, sends the first STATUS=.
  void start();

 private:
  void run_engine();
  void wait_for_signal();
  void stop(int signal);
  void reload();
  // The configuration file's live-changeable keys, applied; returns what was.
  std::vector<std::string> apply_fresh_config();
  // The API key re-read from where it was found at start; true when it changed.
  bool rotate_api_key();
  void beat();

  boost::asio::io_context& io_;
  DaemonParts parts_;
  control::ControlServer* control_server_;
  std::string config_path_;
  std::string api_key_;
  bool engine_done_ = false;
  boost::asio::steady_timer grace_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer heartbeat_;
  bool watchdog_ = false;
  std::uint64_t watchdog_usec_ = 0;
};

}  // namespace submitd
