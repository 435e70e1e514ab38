// Role: `bytenite-submitd`'s main: reads the config file (the only place that does), wires the
// parts (spool loop, API client, metrics), handles signals and talks to systemd. Decisions
// live in the libraries; this file only assembles and starts them.
#include <sys/stat.h>
#include <prometheus/exposer.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "api/api_client.hpp"
#include "api/https_pool.hpp"
#include "api/proxy_settings.hpp"
#include "api/token_cache.hpp"
#include "config/api_key.hpp"
#include "config/load.hpp"
#include "config/reload.hpp"
#include "control/control_server.hpp"
#include "journal/journal.hpp"
#include "metrics/metrics.hpp"
#include "spool/spool_paths.hpp"
#include "state_dir.hpp"
#include "submit/spool_service.hpp"
#include "util/log.hpp"

namespace asio = boost::asio;
using namespace submitd;

namespace {

constexpr const char* kDefaultConfig = "/etc/bytenite-submitd/config.toml";

struct Options {
  std::string config = kDefaultConfig;
  bool check_config = false;
  bool version = false;
};

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: bytenite-submitd [--config FILE] [--check-config] [--version]\n"
               "  --config FILE    TOML configuration (default %s)\n"
               "  --check-config   validate the configuration and the API key source, then exit\n"
               "  --version        print the version and exit\n",
               kDefaultConfig);
}

// Returns false (after printing why) on bad arguments.
bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      o.config = argv[++i];
    } else if (a.starts_with("--config=")) {
      o.config = a.substr(9);
    } else if (a == "--check-config") {
      o.check_config = true;
    } else if (a == "--version") {
      o.version = true;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      std::exit(0);
    } else {
      std::fprintf(stderr, "bytenite-submitd: unknown argument '%s'\n", a.c_str());
      usage(stderr);
      return false;
    }
  }
  return true;
}

log::Level to_log_level(config::LogLevel l) {
  switch (l) {
    case config::LogLevel::debug: return log::Level::debug;
    case config::LogLevel::info: return log::Level::info;
    case config::LogLevel::warning: return log::Level::warning;
    case config::LogLevel::error: return log::Level::error;
  }
  return log::Level::info;
}

std::string exposer_address(const config::MetricsSettings& m) {
  bool v6 = m.host.find(':') != std::string::npos;
  return (v6 ? "[" + m.host + "]" : m.host) + ":" + std::to_string(m.port);
}

// The live-changeable parts of the settings, as the spool service takes them.
submit::RetryTiming retry_timing_of(const config::ApiSettings& api) {
  submit::RetryTiming t;
  t.base = api.retry_base;
  t.cap = api.retry_cap;
  t.retry_after_cap = api.retry_after_cap;
  t.blocked_delay = api.blocked_retry;
  return t;
}

submit::RetryBudgetSettings retry_budget_of(const config::ApiSettings& api) {
  return {api.retry_budget_percent / 100.0, static_cast<double>(api.retry_budget_min_per_second)};
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

int run_daemon(const std::string& config_path, config::Settings settings, std::string api_key,
               const api::ProxyEnvironment& proxy_env) {
  auto paths = spool::make_spool_paths(settings.spool.dir, settings.state.dir);
  spool::ensure_spool_layout(paths);
  InstanceLock lock(paths.state);
  Uuid job_namespace = load_or_create_job_namespace(paths.state);

  // One thread runs the io_context and owns every socket; other threads (the journal's) only
  // post to it. So the scheduler keeps its lock but socket operations need none.
  asio::io_context io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO);
  SystemClock clock;
  metrics::DaemonMetrics metrics(SUBMITD_VERSION);
  std::unique_ptr<prometheus::Exposer> exposer;
  if (settings.metrics.enabled) {
    exposer = std::make_unique<prometheus::Exposer>(exposer_address(settings.metrics), 2);
    exposer->RegisterCollectable(metrics.registry());
    auto ports = exposer->GetListeningPorts();
    log::info("metrics on http://{}/metrics",
              settings.metrics.host + ":" + std::to_string(ports.empty() ? 0 : ports.front()));
  }

  api::PoolSettings pool_settings;
  pool_settings.host = settings.api.host;
  pool_settings.port = settings.api.port;
  if (settings.api.ca_file) pool_settings.ca_file = settings.api.ca_file->string();
  pool_settings.connections = settings.api.connections;
  pool_settings.connect_timeout = settings.api.connect_timeout;
  pool_settings.request_timeout = settings.api.request_timeout;
  pool_settings.certificate_hold = settings.api.blocked_retry;
  pool_settings.proxy = proxy_env.for_host(settings.api.host, settings.api.port);
  if (pool_settings.proxy) {
    log::info("API through proxy {} (from {})", pool_settings.proxy->display(), pool_settings.proxy->variable);
  } else if (proxy_env.server) {
    log::info("API direct: {} exempts {} from the proxy", proxy_env.no_proxy_variable, settings.api.host);
  }
  api::HttpsPool pool(io.get_executor(), pool_settings, clock);
  // The API as the last call found it, for STATUS= and /v1/status: answering (any HTTP
  // status below 500), or why not.
  bool api_answering = false;
  std::string api_trouble = "no call yet";
  pool.set_observer([&](const api::HttpCall& call, const api::HttpResult& result, std::chrono::nanoseconds d) {
    metrics.api_exchange(call, result, d);
    metrics.set_connections_open(pool.open_connections());
    api_answering = result.has_response() && result.status < 500;
    if (!api_answering) {
      api_trouble = result.has_response() ? "HTTP " + std::to_string(result.status)
                                          : std::string(api::transport_failure_name(result.failure));
    }
  });
  api::TokenTiming token_timing;
  token_timing.key_refused_hold = settings.api.blocked_retry;
  api::TokenCache tokens(io.get_executor(), pool, settings.api.base_path + "/auth/access_token",
                         api_key, clock, token_timing);
  tokens.on_exchange = [&] { metrics.token_refreshed(); };
  api::ApiClient client(pool, tokens);

  submit::SpoolServiceSettings service_settings;
  service_settings.max_request_bytes = settings.spool.max_request_bytes;
  service_settings.rescan_interval = settings.spool.rescan_interval;
  service_settings.max_active_files = settings.spool.max_active_files;
  service_settings.max_inflight = settings.api.max_inflight;
  service_settings.submission.give_up_after = settings.spool.give_up_after;
  service_settings.submission.force_test_jobs = settings.submit.force_test_jobs;
  service_settings.max_jobs_per_minute = settings.submit.max_jobs_per_minute;
  if (settings.submit.force_test_jobs) log::warn("submit.force_test_jobs = true: every job is run as a test job");
  service_settings.submission.timing = retry_timing_of(settings.api);
  service_settings.rate_limit_per_second = settings.api.rate_limit_per_second;
  service_settings.retry_budget = retry_budget_of(settings.api);
  service_settings.request_id_retention = settings.submit.request_id_retention;
  service_settings.done_retention = settings.spool.done_retention;
  service_settings.min_free_bytes = settings.spool.min_free_bytes;
  service_settings.follow.enabled = settings.follow.enabled;
  service_settings.follow.poll_interval = settings.follow.poll_interval;
  service_settings.follow.max_followed = settings.follow.max_followed;
  service_settings.follow.give_up_margin = settings.follow.give_up_margin;
  if (settings.follow.enabled) {
    log::info("job following on: polling every {} s, up to {} jobs at once", settings.follow.poll_interval.count(),
              settings.follow.max_followed);
  }

  journal::JournalStore::Options journal_options;
  journal_options.file = paths.state / "journal.sqlite";
  journal_options.durable = settings.state.fsync;
  journal_options.request_id_retention = settings.submit.request_id_retention;
  journal::Journal journal(io.get_executor(), journal_options);
  if (!settings.state.fsync) log::warn("state.fsync = false: journal commits are not synced to disk");

  submit::SpoolService service(io.get_executor(), paths, service_settings, client, journal,
                               submit::JobPaths{settings.api.customer_prefix()}, job_namespace, clock,
                               metrics);

  // The control socket, when configured or passed by systemd (socket activation).
  control::ControlHooks hooks;
  hooks.status = [&] {
    control::DaemonStatus st;
    st.version = SUBMITD_VERSION;
    st.backlog_files = service.backlog_files();
    st.oldest_waiting_age_s = service.oldest_waiting_age_s();
    st.inflight = service.inflight();
    st.active_files = service.active_files();
    st.spool_watched = service.watching();
    st.paused = service.paused();
    st.force_test_jobs = settings.submit.force_test_jobs;
    st.max_jobs_per_minute = settings.submit.max_jobs_per_minute;
    auto js = journal.stats();
    st.journal_ok = !js.stalled;
    st.journal_error = js.last_error;
    st.storage_full = service.storage_full();
    st.storage_problem = service.storage_problem();
    st.follow_enabled = settings.follow.enabled;
    st.followed_jobs = service.followed_jobs();
    st.files_waiting = service.held_files();
    st.token_held = tokens.has_token();
    st.api_connections = pool.open_connections();
    st.api_answering = api_answering;
    st.api_trouble = api_answering ? std::string() : api_trouble;
    return st;
  };
  hooks.store = [&](const std::string& content, const std::string& name) {
    return service.accept_posted(content, name);
  };
  hooks.job_id = [&](const std::string& claim_id, std::uint64_t line) {
    return uuid_v5(job_namespace, claim_id + ":" + std::to_string(line)).str();
  };
  hooks.lookup = [&](const std::string& request_id) -> std::optional<control::RequestLookup> {
    auto found = journal.lookup(request_id);
    if (!found) return std::nullopt;
    return control::RequestLookup{found->job_id, found->finished, found->outcome_line};
  };
  hooks.set_paused = [&](bool paused) { service.set_paused(paused); };
  hooks.abort = [&](const std::string& request_id) {
    auto r = service.abort(request_id);
    control::AbortAnswer a;
    using K = submit::SpoolService::AbortResult::Kind;
    a.kind = r.kind == K::requested       ? control::AbortAnswer::Kind::requested
             : r.kind == K::already_ended ? control::AbortAnswer::Kind::already_ended
             : r.kind == K::not_followed  ? control::AbortAnswer::Kind::not_followed
                                          : control::AbortAnswer::Kind::unknown;
    a.job_id = std::move(r.job_id);
    a.message = std::move(r.message);
    return a;
  };
  control::ControlApi control_api(hooks, control::ControlLimits{settings.spool.max_request_bytes,
                                                                 settings.control.max_backlog_files});
  std::unique_ptr<control::ControlServer> control_server;
  {
    control::ServerSettings cs;
    int activated = sd_listen_fds(1);
    if (activated > 0) cs.adopted_fd = SD_LISTEN_FDS_START;
    if (activated > 0 || settings.control.socket) {
      cs.path = settings.control.socket.value_or("(from systemd)");
      cs.group = settings.control.group;
      control_server = std::make_unique<control::ControlServer>(io.get_executor(), cs, control_api);
      log::info("control socket on {}{}", cs.path.string(), activated > 0 ? " (socket activation)" : "");
      asio::co_spawn(io, control_server->run(), [](std::exception_ptr e) {
        if (e) log::error("control socket stopped by an exception");
      });
    }
  }

  bool service_done = false;
  asio::co_spawn(io, service.run(), [&](std::exception_ptr e) {
    service_done = true;
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        log::error("spool loop failed: {}", x.what());
      }
    }
    pool.shutdown();
    io.stop();
  });

  // SIGHUP: re-read the configuration and the API key; apply what can change while running,
  // name what needs a restart. A configuration that no longer loads changes nothing.
  auto reload = [&] {
    sd_notify(0, "RELOADING=1");
    std::vector<std::string> applied;
    try {
      config::Settings fresh = config::load_settings_file(config_path);
      config::ReloadPlan plan = config::plan_reload(settings, fresh);
      if (plan.log_level) {
        log::set_min_level(to_log_level(fresh.log.level));
        settings.log = fresh.log;
        applied.push_back("log.level");
      }
      if (plan.pacing || plan.retry_timing) {
        settings.api.rate_limit_per_second = fresh.api.rate_limit_per_second;
        settings.api.retry_budget_percent = fresh.api.retry_budget_percent;
        settings.api.retry_budget_min_per_second = fresh.api.retry_budget_min_per_second;
        settings.api.retry_base = fresh.api.retry_base;
        settings.api.retry_cap = fresh.api.retry_cap;
        settings.api.retry_after_cap = fresh.api.retry_after_cap;
        settings.api.blocked_retry = fresh.api.blocked_retry;
        service.apply_live_settings(settings.api.rate_limit_per_second, retry_budget_of(settings.api),
                                    retry_timing_of(settings.api));
        applied.push_back("rate limit, retry budget and retry timing");
      }
      if (!plan.needs_restart.empty()) {
        log::warn("SIGHUP: changed, but applied only after a restart: {}", joined(plan.needs_restart));
      }
    } catch (const config::ConfigError& e) {
      log::error("SIGHUP: the configuration is refused, nothing in it is applied: {}", e.what());
    }
    // The key is read from where it was found at start (the file may have been rotated).
    try {
      std::string key = config::load_api_key(settings.api, config::process_environment());
      if (key != api_key) {
        api_key = key;
        tokens.set_api_key(std::move(key));
        service.retry_waiting_now();  // requests held back by a refused key try again now
        applied.push_back("a new API key (used from the next token exchange)");
      }
    } catch (const config::ConfigError& e) {
      log::error("SIGHUP: cannot read the API key, keeping the current one: {}", e.what());
    }
    log::info("SIGHUP: reloaded; applied: {}", applied.empty() ? std::string("nothing had changed") : joined(applied));
    sd_notify(0, "READY=1");
  };

  asio::steady_timer grace(io);
  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          reload();
          signals.async_wait(on_signal);
          return;
        }
        log::info("{}: stopping; in-flight calls get up to {} s, unfinished files stay in active/",
                  sig == SIGTERM ? "SIGTERM" : "SIGINT", settings.api.shutdown_grace.count());
        sd_notify(0, "STOPPING=1");
        service.stop();
        if (control_server) control_server->stop();
        grace.expires_after(settings.api.shutdown_grace);
        grace.async_wait([&](const boost::system::error_code& gec) {
          if (!gec && !service_done) {
            log::warn("grace period over; exiting with calls still in flight (safe: they are resumed)");
            io.stop();
          }
        });
      };
  signals.async_wait(on_signal);

  // Watchdog pings and status lines, while the loop turns.
  std::uint64_t watchdog_usec = 0;
  bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  asio::steady_timer heartbeat(io);
  std::function<void(const boost::system::error_code&)> beat = [&](const boost::system::error_code& ec) {
    if (ec) return;
    std::string status = fmt::format("STATUS={}{}in flight {}, files active {}, backlog {}, API {} ({} connections){}{}",
                                     service.paused() ? "PAUSED; " : "",
                                     service.storage_full() ? "DISK FULL, not claiming; " : "", service.inflight(),
                                     service.active_files(), service.backlog_files(),
                                     api_answering ? std::string("answering") : "trouble: " + api_trouble,
                                     pool.open_connections(),
                                     settings.follow.enabled ? fmt::format(", following {} jobs", service.followed_jobs())
                                                             : std::string(),
                                     watchdog ? "\nWATCHDOG=1" : "");
    sd_notify(0, status.c_str());
    heartbeat.expires_after(watchdog ? std::chrono::microseconds(watchdog_usec / 3) : std::chrono::seconds(5));
    heartbeat.async_wait(beat);
  };
  beat({});

  log::info("bytenite-submitd {} watching {} (API {}, {} connections)", SUBMITD_VERSION,
            paths.incoming.string(), settings.api.base_url, settings.api.connections);
  // Ready once intake is served; the API may still be unreachable (an outage at boot must
  // not become a restart loop).
  sd_notify(0, "READY=1");
  io.run();
  log::info("bytenite-submitd stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse_args(argc, argv, options)) return 2;
  if (options.version) {
    std::printf("bytenite-submitd %s\n", SUBMITD_VERSION);
    return 0;
  }
  config::Settings settings;
  std::string api_key;
  api::ProxyEnvironment proxy_env;
  try {
    proxy_env = api::read_proxy_environment(config::process_environment());
  } catch (const api::ProxyError& e) {  // the message never holds the proxy's credentials
    std::fprintf(stderr, "bytenite-submitd: proxy setting refused: %s\n", e.what());
    return 2;
  }
  try {
    settings = config::load_settings_file(options.config);
    api_key = config::load_api_key(settings.api, config::process_environment());
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "bytenite-submitd: configuration refused: %s\n", e.what());
    return 2;
  }
  if (options.check_config) {
    std::printf("configuration OK: %s (spool %s, API %s, key from %s)\n", options.config.c_str(),
                settings.spool.dir.c_str(), settings.api.base_url.c_str(),
                config::describe_api_key_source(settings.api, config::process_environment()).c_str());
    return 0;
  }
  log::set_min_level(to_log_level(settings.log.level));
  // What the daemon writes gets exactly the modes it asks for (outcome files 0640, state
  // 0600/0640), whatever umask it was started with: group-readable for the submitters'
  // group, never world-readable (the unit's UMask=0027 says the same).
  ::umask(0027);
  try {
    return run_daemon(options.config, std::move(settings), std::move(api_key), proxy_env);
  } catch (const std::exception& e) {
    log::error("bytenite-submitd cannot run: {}", e.what());
    return 1;
  }
}
