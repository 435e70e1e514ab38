// Role: TOML text -> Settings. The schema below is the list of documented keys; anything
// else is refused, so a misspelt key is an error at start-up rather than a silent default.
#include "config/load.hpp"

#include <toml++/toml.h>

#include <array>
#include <vector>

#include "config/address.hpp"
#include "config/load_intake.hpp"
#include "config/small_file.hpp"
#include "config/toml_reader.hpp"

namespace submitd::config {
namespace {

namespace fs = std::filesystem;

const std::array<TableSchema, 11>& schema() {
  static const std::array<TableSchema, 11> tables{{
      {"api",
       {"base_url", "customer_path", "api_key_file", "ca_file", "connections", "connect_timeout_ms",
        "request_timeout_ms", "max_inflight", "retry_base_ms", "retry_cap_ms", "retry_after_cap_s",
        "blocked_retry_s", "retry_budget_percent", "retry_budget_min_per_second",
        "rate_limit_per_second", "adaptive", "shutdown_grace_s"}},
      {"spool",
       {"dir", "max_request_bytes", "rescan_interval_ms", "done_retention_days",
        "give_up_after_s", "max_active_files", "min_free_mb"}},
      {"state", {"dir", "fsync"}},
      {"control", {"socket", "group", "max_backlog_files", "max_connections"}},
      {"metrics", {"listen"}},
      {"log", {"level"}},
      {"submit", {"request_id_retention_days", "force_test_jobs", "max_jobs_per_minute"}},
      {"follow", {"enabled", "poll_interval_s", "max_followed", "give_up_margin_s"}},
      {"upload", {"dir", "allowed_dirs", "max_bytes", "max_concurrent", "stall_timeout_s"}},
      {"results", {"download_dir", "max_concurrent", "max_bytes_per_second", "max_bytes"}},
      {"intake.jetstream",
       {"servers", "stream", "consumer", "subject", "creds_file", "ca_file", "batch", "ack_wait_s", "max_deliver",
        "namespace", "kv_bucket", "outcome_subject"}},
  }};
  return tables;
}

void read_api(const Reader& r, ApiSettings& api) {
  if (auto url = r.string("api", "base_url")) {
    std::string why;
    auto parsed = parse_base_url(*url, why);
    if (!parsed) r.fail("api.base_url", r.find("api", "base_url"), why);
    api.base_url = *url;
    api.host = parsed->host;
    api.port = parsed->port;
    api.base_path = parsed->base_path;
  }
  if (auto seg = r.string("api", "customer_path")) {
    if (!is_path_segment(*seg))
      r.fail("api.customer_path", r.find("api", "customer_path"),
             "must be one URL path segment of letters, digits, '.', '_', '~', '-' (e.g. customer)");
    api.customer_path = *seg;
  }
  api.api_key_file = r.absolute_path("api", "api_key_file");
  api.ca_file = r.absolute_path("api", "ca_file");
  if (api.ca_file) check_readable_file(r, "api", "ca_file", *api.ca_file);
  read_number(r, "api", "connections", 1, 1024, api.connections);
  read_number(r, "api", "connect_timeout_ms", 1, 600'000, api.connect_timeout);
  read_number(r, "api", "request_timeout_ms", 1, 3'600'000, api.request_timeout);
  read_number(r, "api", "max_inflight", 1, 100'000, api.max_inflight);
  read_number(r, "api", "retry_base_ms", 1, 600'000, api.retry_base);
  read_number(r, "api", "retry_cap_ms", 1, 86'400'000, api.retry_cap);
  if (api.retry_cap < api.retry_base)
    r.fail("api.retry_cap_ms", r.find("api", "retry_cap_ms"), "must not be below api.retry_base_ms");
  read_number(r, "api", "retry_after_cap_s", 0, 86'400, api.retry_after_cap);
  read_number(r, "api", "blocked_retry_s", 1, 86'400, api.blocked_retry);
  read_number(r, "api", "retry_budget_percent", 0, 10'000, api.retry_budget_percent);
  read_number(r, "api", "retry_budget_min_per_second", 1, 1'000'000, api.retry_budget_min_per_second);
  read_number(r, "api", "rate_limit_per_second", 0, 1'000'000, api.rate_limit_per_second);
  if (auto v = r.boolean("api", "adaptive")) api.adaptive = *v;
  read_number(r, "api", "shutdown_grace_s", 0, 3600, api.shutdown_grace);
}

void read_spool(const Reader& r, SpoolSettings& spool) {
  auto dir = r.absolute_path("spool", "dir");
  if (!dir)
    r.fail("spool.dir", nullptr, "required: set it to the absolute path of the spool directory");
  spool.dir = *dir;
  read_number(r, "spool", "max_request_bytes", 1024, 64 * 1024 * 1024, spool.max_request_bytes);
  read_number(r, "spool", "max_active_files", 1, 10'000, spool.max_active_files);
  if (auto v = r.integer("spool", "min_free_mb", 0, 1'048'576))
    spool.min_free_bytes = static_cast<uint64_t>(*v) * 1024 * 1024;
  read_number(r, "spool", "rescan_interval_ms", 100, 86'400'000, spool.rescan_interval);
  read_number(r, "spool", "done_retention_days", 0, 36'500, spool.done_retention);
  read_number(r, "spool", "give_up_after_s", 1, 31'536'000, spool.give_up_after);
}

void read_metrics(const Reader& r, MetricsSettings& metrics) {
  auto listen = r.string("metrics", "listen");
  if (!listen) return;
  metrics.listen = *listen;
  if (listen->empty()) {
    metrics.enabled = false;
    metrics.host.clear();
    metrics.port = 0;
    return;
  }
  std::string why;
  auto addr = parse_listen_address(*listen, why);
  if (!addr) r.fail("metrics.listen", r.find("metrics", "listen"), why);
  metrics.enabled = true;
  metrics.host = addr->host;
  metrics.port = addr->port;
}

void read_upload(const Reader& r, UploadSettings& upload) {
  upload.dir = r.absolute_path("upload", "dir");
  upload.allowed_dirs = r.absolute_paths("upload", "allowed_dirs");
  read_number(r, "upload", "max_bytes", 1, std::int64_t{1} << 50, upload.max_bytes);
  read_number(r, "upload", "max_concurrent", 1, 1024, upload.max_concurrent);
  read_number(r, "upload", "stall_timeout_s", 1, 86'400, upload.stall_timeout);
}

// After [follow]: downloads happen when jobs are seen to end, so they need following.
void read_results(const Reader& r, bool following, ResultsSettings& results) {
  results.download_dir = r.absolute_path("results", "download_dir");
  if (results.download_dir && !following) {
    r.fail("results.download_dir", r.find("results", "download_dir"),
           "needs [follow] enabled = true: results are fetched when a followed job completes");
  }
  read_number(r, "results", "max_concurrent", 1, 1024, results.max_concurrent);
  read_number(r, "results", "max_bytes_per_second", 0, std::int64_t{1} << 40, results.max_bytes_per_second);
  read_number(r, "results", "max_bytes", 1, std::int64_t{1} << 50, results.max_bytes);
}

void read_rest(const Reader& r, Settings& s) {
  s.state.dir = r.absolute_path("state", "dir").value_or(s.spool.dir / "state");
  if (auto v = r.boolean("state", "fsync")) s.state.fsync = *v;
  s.control.socket = r.absolute_path("control", "socket");
  // sun_path holds 108 bytes including the terminating NUL.
  if (s.control.socket && s.control.socket->native().size() > 107)
    r.fail("control.socket", r.find("control", "socket"),
           "too long for a Unix socket path (at most 107 bytes)");
  if (auto g = r.string("control", "group")) {
    if (g->empty()) r.fail("control.group", r.find("control", "group"), "must name a group (or be left out)");
    s.control.group = *g;
  }
  read_number(r, "control", "max_backlog_files", 1, 100'000'000, s.control.max_backlog_files);
  read_number(r, "control", "max_connections", 1, 1'000'000, s.control.max_connections);
  if (auto level = r.string("log", "level")) {
    if (*level == "debug")
      s.log.level = LogLevel::debug;
    else if (*level == "info")
      s.log.level = LogLevel::info;
    else if (*level == "warning")
      s.log.level = LogLevel::warning;
    else if (*level == "error")
      s.log.level = LogLevel::error;
    else
      r.fail("log.level", r.find("log", "level"), "must be one of debug, info, warning, error");
  }
  read_number(r, "submit", "max_jobs_per_minute", 0, 10'000'000, s.submit.max_jobs_per_minute);
  read_number(r, "submit", "request_id_retention_days", 1, 3650, s.submit.request_id_retention);
  if (auto v = r.boolean("submit", "force_test_jobs")) s.submit.force_test_jobs = *v;
  if (auto v = r.boolean("follow", "enabled")) s.follow.enabled = *v;
  read_number(r, "follow", "poll_interval_s", 1, 86'400, s.follow.poll_interval);
  read_number(r, "follow", "max_followed", 1, 10'000'000, s.follow.max_followed);
  read_number(r, "follow", "give_up_margin_s", 0, 31'536'000, s.follow.give_up_margin);
}

}  // namespace

std::vector<std::string> known_keys() {
  std::vector<std::string> keys;
  for (const auto& t : schema())
    for (auto k : t.keys) keys.push_back(std::string(t.name) + "." + std::string(k));
  return keys;
}

Settings parse_settings(std::string_view toml_text, std::string_view origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw ConfigError(std::string(origin) + ":" + std::to_string(at.line) + ":" +
                      std::to_string(at.column) +
                      ": not valid TOML: " + std::string(e.description()));
  }
  Reader r(origin, root, schema());
  r.check_known_keys();
  Settings s;
  read_spool(r, s.spool);  // first: state.dir defaults from it
  read_api(r, s.api);
  read_metrics(r, s.metrics);
  read_rest(r, s);
  read_upload(r, s.upload);
  read_results(r, s.follow.enabled, s.results);
  read_jetstream(r, s.jetstream);
  return s;
}

Settings load_settings_file(const fs::path& file) {
  constexpr std::size_t kMaxConfigBytes = 1 << 20;  // a config file is small; refuse a wrong path
  SmallFileRead read = read_small_regular_file(file, kMaxConfigBytes);
  if (!read.ok()) {
    throw ConfigError("cannot read config file " + file.string() + ": " +
                      (read.too_large ? std::string("larger than 1 MiB, not a config file") : read.error));
  }
  return parse_settings(read.text, file.string());
}

}  // namespace submitd::config
