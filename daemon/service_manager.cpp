// Role: signals, reload, STATUS= and the watchdog (see service_manager.hpp).
#include "service_manager.hpp"

#include <systemd/sd-daemon.h>

#include <boost/asio/co_spawn.hpp>
#include <csignal>
#include <exception>

#include "api/https_pool.hpp"
#include "api/token_cache.hpp"
#include "config/api_key.hpp"
#include "config/load.hpp"
#include "config/reload.hpp"
#include "control/control_server.hpp"
#include "control_hooks.hpp"
#include "settings_of_config.hpp"
#include "submit/engine.hpp"
#include "util/log.hpp"

namespace asio = boost::asio;

namespace submitd {

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

std::string systemd_status_line(const control::DaemonStatus& st) {
  return fmt::format(
      "STATUS={}{}in flight {}, files active {}, backlog {}, API {} ({} connections){}",
      st.paused ? "PAUSED; " : "", st.storage_full ? "DISK FULL, not claiming; " : "", st.inflight,
      st.active_files, st.backlog_files,
      st.api_answering ? std::string("answering") : "trouble: " + st.api_trouble,
      st.api_connections,
      st.follow_enabled ? fmt::format(", following {} jobs", st.followed_jobs) : std::string());
}

ServiceManager::ServiceManager(asio::io_context& io, DaemonParts parts,
                               control::ControlServer* control_server, std::string config_path,
                               std::string api_key)
    : io_(io),
      parts_(parts),
      control_server_(control_server),
      config_path_(std::move(config_path)),
      api_key_(std::move(api_key)),
      grace_(io),
      signals_(io, SIGTERM, SIGINT, SIGHUP),
      heartbeat_(io) {}

void ServiceManager::start() {
  run_engine();
  wait_for_signal();
  watchdog_ = sd_watchdog_enabled(0, &watchdog_usec_) > 0;
  beat();
}

void ServiceManager::run_engine() {
  // When the engine's run ends (stopped, or failed) the daemon ends with it: nothing else
  // would make progress.
  asio::co_spawn(io_, parts_.engine.run(), [this](std::exception_ptr e) {
    engine_done_ = true;
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        log::error("spool loop failed: {}", x.what());
      }
    }
    parts_.pool.shutdown();
    io_.stop();
  });
}

void ServiceManager::wait_for_signal() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      reload();
      wait_for_signal();
    } else {
      stop(signal);  // once: the grace timer decides the rest
    }
  });
}

void ServiceManager::stop(int signal) {
  log::info("{}: stopping; in-flight calls get up to {} s, unfinished files stay in active/",
            signal == SIGTERM ? "SIGTERM" : "SIGINT", parts_.settings.api.shutdown_grace.count());
  sd_notify(0, "STOPPING=1");
  parts_.engine.stop();
  if (control_server_) control_server_->stop();
  grace_.expires_after(parts_.settings.api.shutdown_grace);
  grace_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !engine_done_) {
      log::warn("grace period over; exiting with calls still in flight (safe: they are resumed)");
      io_.stop();
    }
  });
}

// SIGHUP: re-read the configuration and the API key; apply what can change while running,
// name what needs a restart. A configuration that no longer loads changes nothing.
void ServiceManager::reload() {
  sd_notify(0, "RELOADING=1");
  std::vector<std::string> applied = apply_fresh_config();
  if (rotate_api_key()) applied.push_back("a new API key (used from the next token exchange)");
  log::info("SIGHUP: reloaded; applied: {}",
            applied.empty() ? std::string("nothing had changed") : joined(applied));
  sd_notify(0, "READY=1");
}

std::vector<std::string> ServiceManager::apply_fresh_config() {
  std::vector<std::string> applied;
  config::Settings& running = parts_.settings;
  try {
    config::Settings fresh = config::load_settings_file(config_path_);
    config::ReloadPlan plan = config::plan_reload(running, fresh);
    if (plan.log_level) {
      log::set_min_level(log_level_of(fresh.log.level));
      running.log = fresh.log;
      applied.push_back("log.level");
    }
    if (plan.pacing || plan.retry_timing) {
      running.api.rate_limit_per_second = fresh.api.rate_limit_per_second;
      running.api.retry_budget_percent = fresh.api.retry_budget_percent;
      running.api.retry_budget_min_per_second = fresh.api.retry_budget_min_per_second;
      running.api.retry_base = fresh.api.retry_base;
      running.api.retry_cap = fresh.api.retry_cap;
      running.api.retry_after_cap = fresh.api.retry_after_cap;
      running.api.blocked_retry = fresh.api.blocked_retry;
      apply_live_api_settings(
          running.api,
          {[this](double rate, submit::RetryBudgetSettings budget, submit::RetryTiming timing) {
             parts_.engine.scheduler().apply_live_settings(rate, budget, timing);
           },
           [this](std::chrono::milliseconds hold) { parts_.pool.set_certificate_hold(hold); },
           [this](std::chrono::milliseconds hold) { parts_.tokens.set_key_refused_hold(hold); }});
      applied.push_back("rate limit, retry budget and retry timing");
    }
    if (!plan.needs_restart.empty()) {
      log::warn("SIGHUP: changed, but applied only after a restart: {}",
                joined(plan.needs_restart));
    }
  } catch (const config::ConfigError& e) {
    log::error("SIGHUP: the configuration is refused, nothing in it is applied: {}", e.what());
  }
  return applied;
}

bool ServiceManager::rotate_api_key() {
  // Read from where it was found at start: the file may have been rotated in place.
  try {
    std::string key = config::load_api_key(parts_.settings.api, config::process_environment());
    if (key == api_key_) return false;
    api_key_ = key;
    parts_.tokens.set_api_key(std::move(key));
    parts_.engine.scheduler()
        .retry_waiting_now();  // requests held back by a refused key try again now
    return true;
  } catch (const config::ConfigError& e) {
    log::error("SIGHUP: cannot read the API key, keeping the current one: {}", e.what());
    return false;
  }
}

// Watchdog pings (when systemd asks for them) and the status line, while the loop turns: a
// loop that stops turning stops the pings, and systemd restarts the daemon.
void ServiceManager::beat() {
  std::string message =
      systemd_status_line(daemon_status(parts_)) + (watchdog_ ? "\nWATCHDOG=1" : "");
  sd_notify(0, message.c_str());
  heartbeat_.expires_after(watchdog_ ? std::chrono::microseconds(watchdog_usec_ / 3)
                                     : std::chrono::seconds(5));
  heartbeat_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) beat();
  });
}

}  // namespace submitd
