// Role: config::Settings to the libraries' settings structs (see settings_of_config.hpp).
#include <unistd.h>

#include <algorithm>

#include "settings_of_config.hpp"

namespace submitd {
namespace {

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown-host";
  return name;
}

}  // namespace

log::Level log_level_of(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::debug:
      return log::Level::debug;
    case config::LogLevel::info:
      return log::Level::info;
    case config::LogLevel::warning:
      return log::Level::warning;
    case config::LogLevel::error:
      return log::Level::error;
  }
  return log::Level::info;
}

api::PoolSettings pool_settings_of(const config::ApiSettings& api) {
  api::PoolSettings pool;
  pool.host = api.host;
  pool.port = api.port;
  if (api.ca_file) pool.ca_file = api.ca_file->string();
  pool.connections = api.connections;
  pool.connect_timeout = api.connect_timeout;
  pool.request_timeout = api.request_timeout;
  // An untrusted certificate is a configuration problem, like a refused key: both wait the
  // one documented api.blocked_retry before trying again.
  pool.certificate_hold = api.blocked_retry;
  return pool;
}

api::StorageSettings storage_settings_of(const config::Settings& settings, const api::ProxyEnvironment& proxy_env) {
  api::StorageSettings s;
  if (settings.api.ca_file) s.ca_file = settings.api.ca_file->string();
  // Uploads and result downloads share the storage pools.
  s.connections_per_host = std::max(settings.upload.max_concurrent, settings.results.max_concurrent);
  s.connect_timeout = settings.api.connect_timeout;
  s.stall_timeout = settings.upload.stall_timeout;
  s.proxy = proxy_env;
  return s;
}

api::TokenTiming token_timing_of(const config::ApiSettings& api) {
  api::TokenTiming timing;
  timing.key_refused_hold = api.blocked_retry;
  return timing;
}

journal::JournalStore::Options journal_options_of(const config::Settings& settings,
                                                  const std::filesystem::path& state_dir) {
  journal::JournalStore::Options options;
  options.file = state_dir / "journal.sqlite";
  options.durable = settings.state.fsync;
  options.request_id_retention = settings.submit.request_id_retention;
  return options;
}

submit::RetryTiming retry_timing_of(const config::ApiSettings& api) {
  submit::RetryTiming timing;
  timing.base = api.retry_base;
  timing.cap = api.retry_cap;
  timing.retry_after_cap = api.retry_after_cap;
  timing.blocked_delay = api.blocked_retry;
  return timing;
}

submit::RetryBudgetSettings retry_budget_of(const config::ApiSettings& api) {
  // The file says "retries per 100 fresh calls"; the budget counts retries per fresh call.
  return {api.retry_budget_percent / 100.0, static_cast<double>(api.retry_budget_min_per_second)};
}

void apply_live_api_settings(const config::ApiSettings& api, const LiveApiReceivers& to) {
  to.scheduler(api.rate_limit_per_second, retry_budget_of(api), retry_timing_of(api));
  // Through the start-up translations, so a reload gives each part what a start would.
  to.certificate_hold(pool_settings_of(api).certificate_hold);
  to.key_refused_hold(token_timing_of(api).key_refused_hold);
}

submit::EngineSettings engine_settings_of(const config::Settings& settings,
                                          const std::filesystem::path& state_dir) {
  submit::EngineSettings e;
  e.scheduler.max_inflight = settings.api.max_inflight;
  e.scheduler.submission.give_up_after = settings.spool.give_up_after;
  e.scheduler.submission.force_test_jobs = settings.submit.force_test_jobs;
  e.scheduler.submission.timing = retry_timing_of(settings.api);
  e.scheduler.rate_limit_per_second = settings.api.rate_limit_per_second;
  e.scheduler.adaptive = settings.api.adaptive;
  e.scheduler.max_jobs_per_minute = settings.submit.max_jobs_per_minute;
  e.scheduler.retry_budget = retry_budget_of(settings.api);
  e.scheduler.pause_marker = state_dir / "paused";  // a pause survives a restart
  e.file_controls = state_dir / "file-controls";     // so do holds and cancels
  e.files.max_request_bytes = settings.spool.max_request_bytes;
  e.files.max_active_files = settings.spool.max_active_files;
  e.files.files_ceiling = files_ceiling_of(settings);
  e.files.input_rules = spool::input_rules_of(settings.upload);
  e.scheduler.input_rules = e.files.input_rules;
  e.scheduler.max_uploads = settings.upload.max_concurrent;
  e.spool.rescan_interval = settings.spool.rescan_interval;
  e.spool.request_id_retention = settings.submit.request_id_retention;
  e.spool.done_retention = settings.spool.done_retention;
  e.storage.min_free_bytes = settings.spool.min_free_bytes;
  e.follow.enabled = settings.follow.enabled;
  e.follow.poll_interval = settings.follow.poll_interval;
  e.follow.max_followed = settings.follow.max_followed;
  e.follow.give_up_margin = settings.follow.give_up_margin;
  e.follow.downloads.download_dir = settings.results.download_dir;
  e.follow.downloads.max_concurrent = settings.results.max_concurrent;
  e.follow.downloads.max_bytes_per_second = settings.results.max_bytes_per_second;
  e.follow.downloads.max_bytes = settings.results.max_bytes;
  if (settings.jetstream.enabled()) e.jetstream = jetstream_source_settings_of(settings, state_dir);
  return e;
}

submit::JetStreamSourceSettings jetstream_source_settings_of(const config::Settings& settings,
                                                             const std::filesystem::path& state_dir) {
  const auto& js = settings.jetstream;
  submit::JetStreamSourceSettings s;
  s.loop.connect.servers = js.servers;
  s.loop.connect.creds_file = js.creds_file;
  s.loop.connect.ca_file = js.ca_file;
  s.loop.stream = js.stream;
  s.loop.consumer = js.consumer;
  s.loop.subject = js.subject;
  s.loop.batch = static_cast<int>(js.batch);
  s.loop.ack_wait = js.ack_wait;
  // Held messages: enough to keep every call the daemon can have open at once busy with one
  // waiting behind it, and no more, so the rest stay in the stream for the other daemons (a
  // daemon holding seconds of work makes the fleet's end wait on it).
  s.loop.capacity = 2 * std::max<std::size_t>(1, std::min<std::size_t>(settings.api.max_inflight, settings.api.connections));
  s.loop.stream_record = state_dir / "jetstream-stream";  // see jetstream::stream_record_problem
  s.loop.job_namespace = js.job_namespace;
  s.loop.max_deliver = js.max_deliver;
  s.max_deliver = js.max_deliver;
  s.outcome_subject = js.outcome_subject;
  s.max_request_bytes = settings.spool.max_request_bytes;
  s.input_rules = spool::input_rules_of(settings.upload);
  // The config loader refuses a namespace that is not a UUID.
  if (auto ns = Uuid::parse(js.job_namespace)) s.fleet_namespace = *ns;
  if (!js.kv_bucket.empty()) {
    s.index = jetstream::IndexSettings{s.loop.connect, js.kv_bucket,
                                       std::chrono::duration_cast<std::chrono::seconds>(settings.submit.request_id_retention),
                                       js.stream};
    if (settings.submit.max_jobs_per_minute > 0) {
      // The cap is the fleet's: each daemon's share is counted among the live members. A
      // member is named by its host and state directory: unique, and the same after a restart.
      s.members = jetstream::MembersSettings{s.loop.connect, js.kv_bucket, s.index->ttl, js.stream,
                                             host_name() + ":" + std::filesystem::absolute(state_dir).string()};
      s.fleet_jobs_per_minute = settings.submit.max_jobs_per_minute;
    }
  }
  return s;
}

std::size_t files_ceiling_of(const config::Settings& settings) {
  // Files read to their end beyond max_active_files: enough for every in-flight request to be one.
  return settings.spool.max_active_files + settings.api.max_inflight;
}

std::uint64_t descriptor_reserve_of(const config::Settings& settings) {
  // Standard streams, epoll/eventfd/timerfd, inotify, the two locks, the journal's database,
  // WAL and shared memory, sd_notify, a scan of incoming/ (about 20 in all), the metrics
  // endpoint (a listener, 8 workers, up to 20 queued connections), and room to spare.
  constexpr std::uint64_t kFixed = 64;
  // An API connection, and the socket of a name lookup while it reconnects.
  const std::uint64_t api = 2ull * settings.api.connections;
  // A file being worked holds its input open and writes its outcome.
  const std::uint64_t files = 2ull * files_ceiling_of(settings);
  return kFixed + api + files;
}

control::ConnectionCap control_connection_cap_of(const config::Settings& settings,
                                                 std::uint64_t descriptor_limit) {
  return control::connection_cap(settings.control.max_connections, descriptor_limit,
                                 descriptor_reserve_of(settings));
}

}  // namespace submitd
