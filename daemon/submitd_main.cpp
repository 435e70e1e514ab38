// Role: `bytenite-submitd`'s main: parses the command line, reads the config file and the
// API key (daemon/ is the only place that reads them), then run_daemon builds the daemon's
// parts in order and connects them. Signals and systemd are the service manager's
// (service_manager.hpp); decisions live in the libraries.
#include <sys/stat.h>
#include <CLI/CLI.hpp>
#include <unistd.h>
#include <prometheus/collectable.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "api/api_client.hpp"
#include "api/api_health.hpp"
#include "api/https_pool.hpp"
#include "api/proxy_settings.hpp"
#include "api/token_cache.hpp"
#include "config/api_key.hpp"
#include "config/load.hpp"
#include "control/control_server.hpp"
#include "control_hooks.hpp"
#include "daemon_parts.hpp"
#include "descriptor_limit.hpp"
#include "journal/journal.hpp"
#include "metrics/metrics.hpp"
#include "metrics/metrics_server.hpp"
#include "online_check.hpp"
#include "journal_sink.hpp"
#include "preflight.hpp"
#include "revision.hpp"
#include "service_manager.hpp"
#include "settings_of_config.hpp"
#include "spool/spool_paths.hpp"
#include "state_dir.hpp"
#include "submit/engine.hpp"
#include "util/log.hpp"

namespace asio = boost::asio;
using namespace submitd;

namespace {

struct Options {
  std::string config = config::kDefaultConfigFile;
  bool check_config = false;
  bool online = false;
};

// The command line (CLI11: `--opt=value`, options in any order). Returns the exit status when
// the program should end here (help, version: 0; a usage error: 2, after saying why).
std::optional<int> parse_args(int argc, char** argv, Options& o) {
  CLI::App app{"Turns job request files and posts into ByteNite jobs, exactly once.", "bytenite-submitd"};
  app.footer("Exit status: 0 stopped on request or nothing to fix; 1 could not run; 2 usage error or a\n"
             "configuration to fix (each reason names its key); 75 --online could not reach the API.");
  app.set_version_flag("--version", std::string("bytenite-submitd ") + SUBMITD_VERSION);
  app.add_option("--config", o.config, "TOML configuration")->type_name("FILE")->capture_default_str();
  auto* check = app.add_flag("--check-config", o.check_config,
                             "check the configuration, the API key, the spool, state and socket directories, "
                             "control.group and metrics.listen, then exit");
  app.add_flag("--online", o.online, "with --check-config: also get one access token from the API")->needs(check);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return std::nullopt;
}

// The metrics port, when configured: /metrics and /healthz (the control socket's health
// answer), served on the I/O thread.
std::unique_ptr<metrics::MetricsServer> start_metrics_server(asio::io_context& io, const config::MetricsSettings& m,
                                                             metrics::DaemonMetrics& metrics,
                                                             control::ControlApi& control_api) {
  if (!m.enabled) return nullptr;
  std::unique_ptr<metrics::MetricsServer> server;
  try {
    server = std::make_unique<metrics::MetricsServer>(
        io.get_executor(), metrics::MetricsServerSettings{m.host, m.port},
        std::vector<std::shared_ptr<prometheus::Collectable>>{metrics.registry(), metrics.process_collector()},
        [&control_api] {
          control::ControlAnswer a = control_api.handle("GET", "/healthz", "");
          return std::pair<int, std::string>{a.status, std::move(a.body)};
        });
  } catch (const std::exception& e) {
    throw std::runtime_error(describe(metrics_listen_finding(m, e.what())));
  }
  asio::co_spawn(io, server->run(), [](std::exception_ptr e) { log::escaped(e, "metrics port"); });
  const bool v6 = m.host.find(':') != std::string::npos;
  log::info("metrics on http://{}:{}/metrics (and /healthz)", v6 ? "[" + m.host + "]" : m.host, server->port());
  return server;
}

// The proxy the API is reached through, if any, said once at start (never its credentials:
// display() leaves them out).
std::optional<api::ProxyServer> proxy_for_api(const api::ProxyEnvironment& proxy_env,
                                              const config::ApiSettings& api) {
  auto proxy = proxy_env.for_host(api.host, api.port);
  if (proxy) {
    log::info("API through proxy {} (from {})", proxy->display(), proxy->variable);
  } else if (proxy_env.server) {
    log::info("API direct: {} exempts {} from the proxy", proxy_env.no_proxy_variable, api.host);
  }
  return proxy;
}

// Settings an operator should see in the log because they change what the daemon does.
void note_unusual_settings(const config::Settings& settings) {
  if (settings.submit.force_test_jobs)
    log::warn("submit.force_test_jobs = true: every job is run as a test job");
  if (settings.follow.enabled) {
    log::info("job following on: polling every {} s, up to {} jobs at once",
              settings.follow.poll_interval.count(), settings.follow.max_followed);
  }
  if (!settings.state.fsync)
    log::warn("state.fsync = false: journal commits are not synced to disk");
}

// The soft open-file limit raised to the hard one; what is in effect bounds the control
// socket's connection cap.
std::uint64_t raise_open_file_limit() {
  DescriptorLimit limit = raise_descriptor_limit();
  if (!limit.failure.empty()) {
    log::warn("cannot raise the open-file limit from {}: {}", limit.before, limit.failure);
  } else if (limit.now != limit.before) {
    log::info("open-file limit raised from {} to {}", limit.before, limit.now);
  }
  return limit.now;
}

// The control socket, when configured or passed by systemd (socket activation); null without.
std::unique_ptr<control::ControlServer> start_control_server(asio::io_context& io, const config::Settings& settings,
                                                             std::uint64_t descriptor_limit,
                                                             control::ControlApi& control_api,
                                                             metrics::DaemonMetrics& metrics) {
  const config::ControlSettings& c = settings.control;
  control::ServerSettings cs;
  int activated = sd_listen_fds(1);
  if (activated > 0) cs.adopted_fd = SD_LISTEN_FDS_START;
  if (activated <= 0 && !c.socket) return nullptr;
  cs.path = c.socket.value_or("(from systemd)");
  cs.group = c.group;
  const control::ConnectionCap cap = control_connection_cap_of(settings, descriptor_limit);
  cs.max_connections = cap.cap;
  if (cap.bounded_by_descriptors) {
    log::warn("control socket: at most {} connections, not control.max_connections = {}: the open-file "
              "limit is {} and {} are kept for the spool, the journal, the API and metrics",
              cap.cap, c.max_connections, descriptor_limit, descriptor_reserve_of(settings));
  }
  cs.on_open_changed = [&metrics](std::size_t open) { metrics.set_control_connections_open(open); };
  cs.on_refused = [&metrics] { metrics.control_connection_refused(); };
  auto server = std::make_unique<control::ControlServer>(io.get_executor(), cs, control_api);
  log::info("control socket on {}{} (at most {} connections)", cs.path.string(),
            activated > 0 ? " (socket activation)" : "", cap.cap);
  asio::co_spawn(io, server->run(), [](std::exception_ptr e) {
    if (e) log::error("control socket stopped by an exception");
  });
  return server;
}

// The parts, built in the order they need each other and connected; what each decides lives
// in its library. Destroyed in reverse: nothing outlives what it refers to.
int run_daemon(const std::string& config_path, config::Settings settings, std::string api_key,
               const api::ProxyEnvironment& proxy_env) {
  const std::uint64_t descriptor_limit = raise_open_file_limit();
  auto paths = spool::make_spool_paths(settings.spool.dir, settings.state.dir);
  spool::ensure_spool_layout(paths);
  InstanceLock state_lock(state_lock_file(paths));
  InstanceLock spool_lock(spool_lock_file(paths));  // a second daemon with its own state dir
  const Uuid job_namespace = load_or_create_job_namespace(paths);

  // One thread runs the io_context and owns every socket; other threads (the journal's) only
  // post to it. So the scheduler keeps its lock but socket operations need none.
  asio::io_context io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO);
  SystemClock clock;
  metrics::DaemonMetrics metrics(SUBMITD_VERSION, SUBMITD_REVISION);

  api::PoolSettings pool_settings = pool_settings_of(settings.api);
  pool_settings.proxy = proxy_for_api(proxy_env, settings.api);
  api::HttpsPool pool(io.get_executor(), pool_settings, clock);
  api::ApiHealth api_health;
  pool.set_observer(
      [&](const api::HttpCall& call, const api::HttpResult& result, std::chrono::nanoseconds d) {
        metrics.api_exchange(call, result, d);
        api_health.observe(result);
      });
  // Every change, idle closes included: set only after calls, the gauge kept its last value.
  pool.set_open_connections_observer([&](std::size_t open) { metrics.set_connections_open(open); });
  api::TokenCache tokens(io.get_executor(), pool, settings.api.base_path + "/auth/access_token",
                         api_key, clock, token_timing_of(settings.api));
  tokens.on_exchange = [&] { metrics.token_refreshed(); };
  tokens.on_outcome = [&](const api::TokenResult& r) {
    if (r.ok() || r.key_rejected) metrics.key_refused(r.key_rejected);  // no answer: nothing learnt
  };
  api::ApiClient client(pool, tokens);

  note_unusual_settings(settings);
  journal::Journal journal(io.get_executor(), journal_options_of(settings, paths.state));
  journal.on_stall_changed([&metrics](bool stalled) { metrics.journal_stalled(stalled); });
  submit::Engine engine(io.get_executor(), paths, engine_settings_of(settings, paths.state), client,
                        journal, submit::JobPaths{settings.api.customer_prefix()}, job_namespace,
                        clock, metrics);
  // Inputs go to the storage hosts their tempUrls name, each with a pool of its own.
  api::StorageClient storage(io.get_executor(), storage_settings_of(settings, proxy_env), clock);
  storage.set_observer([&](const api::HttpCall& call, const api::HttpResult& result, std::chrono::nanoseconds d) {
    metrics.api_exchange(call, result, d);
  });
  engine.set_storage(storage);
  DaemonParts parts{settings, job_namespace, pool, api_health, tokens, journal, engine};

  control::ControlApi control_api(
      make_control_hooks(parts),
      control::ControlLimits{settings.spool.max_request_bytes, settings.control.max_backlog_files,
                            spool::input_rules_of(settings.upload)});
  auto control_server = start_control_server(io, settings, descriptor_limit, control_api, metrics);
  auto metrics_server = start_metrics_server(io, settings.metrics, metrics, control_api);
  ServiceManager manager(io, parts, control_server.get(), config_path, std::move(api_key));
  manager.start();

  log::event_line(log::Level::info, {.message_id = log::event::daemon_started},
                  "bytenite-submitd {} watching {} (API {}, {} connections)", SUBMITD_VERSION,
                  paths.incoming.string(), settings.api.base_url, settings.api.connections);
  // Ready once intake is served; the API may still be unreachable (an outage at boot must
  // not become a restart loop).
  sd_notify(0, "READY=1");
  io.run();
  log::event_line(log::Level::info, {.message_id = log::event::daemon_stopping}, "bytenite-submitd stopped");
  return 0;
}

void print_finding(const PreflightFinding& f) {
  std::fflush(stdout);  // what was checked comes first, also into one file
  std::fprintf(stderr, "bytenite-submitd: %s: %s\n    fix: %s\n", f.key.c_str(), f.problem.c_str(), f.fix.c_str());
}

// --check-config: what was checked, each finding with its fix; 0 when there is none.
int check_config(const Options& options, const config::Settings& settings, const std::string& api_key,
                 const api::ProxyEnvironment& proxy_env, const PreflightReport& report) {
  std::printf("%s: read (spool %s, state %s, API %s, key from %s), checked as uid %u\n", options.config.c_str(),
              settings.spool.dir.c_str(), settings.state.dir.c_str(), settings.api.base_url.c_str(),
              config::describe_api_key_source(settings.api, config::process_environment()).c_str(), ::geteuid());
  for (const auto& note : report.notes) std::printf("note: %s\n", note.c_str());
  for (const auto& finding : report.findings) print_finding(finding);
  if (!report.ok()) return 2;
  if (options.online) {
    if (auto failure = online_check(settings, api_key, proxy_env)) {
      print_finding(failure->finding);
      return failure->temporary ? 75 : 2;
    }
    std::printf("API: a token was issued by %s\n", settings.api.base_url.c_str());
  }
  std::printf("configuration OK\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const auto ended = parse_args(argc, argv, options)) return *ended;
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
  const PreflightReport report = preflight(settings, system_probes());
  if (options.check_config) return check_config(options, settings, api_key, proxy_env, report);
  log::set_min_level(log_level_of(settings.log.level));
  use_journal_if_stderr_is_journal();
  if (!report.ok()) {
    for (const auto& finding : report.findings) {
      log::event_line(log::Level::error, {.message_id = log::event::config_refused}, "configuration refused: {}",
                      describe(finding));
    }
    return 2;
  }
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
