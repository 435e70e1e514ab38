// Role: the SIGHUP reload plan (see reload.hpp).
#include "config/reload.hpp"

#include <functional>
#include <utility>

namespace submitd::config {
namespace {

template <typename T>
std::string text(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    return v;
  } else if constexpr (std::is_same_v<T, std::filesystem::path>) {
    return v.string();
  } else if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else if constexpr (requires { v.count(); }) {
    return std::to_string(v.count());
  } else {
    return std::to_string(v);
  }
}

template <typename T>
std::string text(const std::optional<T>& v) {
  return v ? text(*v) : std::string("<unset>");
}

using Reader = std::function<std::string(const Settings&)>;
#define SUBMITD_KEY(name, field) std::pair<const char*, Reader>{name, [](const Settings& s) { return text(s.field); }}

// Every key that only takes effect at start. Keep in step with settings.hpp.
const std::vector<std::pair<const char*, Reader>>& start_only_keys() {
  static const std::vector<std::pair<const char*, Reader>> keys = {
      SUBMITD_KEY("api.base_url", api.base_url),
      SUBMITD_KEY("api.customer_path", api.customer_path),
      SUBMITD_KEY("api.api_key_file", api.api_key_file),
      SUBMITD_KEY("api.ca_file", api.ca_file),
      SUBMITD_KEY("api.connections", api.connections),
      SUBMITD_KEY("api.connect_timeout_ms", api.connect_timeout),
      SUBMITD_KEY("api.request_timeout_ms", api.request_timeout),
      SUBMITD_KEY("api.max_inflight", api.max_inflight),
      SUBMITD_KEY("api.adaptive", api.adaptive),
      SUBMITD_KEY("api.shutdown_grace_s", api.shutdown_grace),
      SUBMITD_KEY("spool.dir", spool.dir),
      SUBMITD_KEY("spool.max_request_bytes", spool.max_request_bytes),
      SUBMITD_KEY("spool.rescan_interval_ms", spool.rescan_interval),
      SUBMITD_KEY("spool.max_active_files", spool.max_active_files),
      SUBMITD_KEY("spool.done_retention_days", spool.done_retention),
      SUBMITD_KEY("spool.min_free_mb", spool.min_free_bytes),
      SUBMITD_KEY("spool.give_up_after_s", spool.give_up_after),
      SUBMITD_KEY("state.dir", state.dir),
      SUBMITD_KEY("state.fsync", state.fsync),
      SUBMITD_KEY("control.socket", control.socket),
      SUBMITD_KEY("control.group", control.group),
      SUBMITD_KEY("control.max_backlog_files", control.max_backlog_files),
      SUBMITD_KEY("control.max_connections", control.max_connections),
      SUBMITD_KEY("metrics.listen", metrics.listen),
      SUBMITD_KEY("submit.request_id_retention_days", submit.request_id_retention),
      SUBMITD_KEY("submit.force_test_jobs", submit.force_test_jobs),
      SUBMITD_KEY("submit.max_jobs_per_minute", submit.max_jobs_per_minute),
      SUBMITD_KEY("follow.enabled", follow.enabled),
      SUBMITD_KEY("follow.poll_interval_s", follow.poll_interval),
      SUBMITD_KEY("follow.max_followed", follow.max_followed),
      SUBMITD_KEY("follow.give_up_margin_s", follow.give_up_margin),
  };
  return keys;
}
#undef SUBMITD_KEY

}  // namespace

ReloadPlan plan_reload(const Settings& running, const Settings& fresh) {
  ReloadPlan plan;
  plan.log_level = running.log.level != fresh.log.level;
  const ApiSettings& a = running.api;
  const ApiSettings& b = fresh.api;
  plan.pacing = a.rate_limit_per_second != b.rate_limit_per_second ||
                a.retry_budget_percent != b.retry_budget_percent ||
                a.retry_budget_min_per_second != b.retry_budget_min_per_second;
  plan.retry_timing = a.retry_base != b.retry_base || a.retry_cap != b.retry_cap ||
                      a.retry_after_cap != b.retry_after_cap || a.blocked_retry != b.blocked_retry;
  for (const auto& [name, read] : start_only_keys()) {
    if (read(running) != read(fresh)) plan.needs_restart.emplace_back(name);
  }
  return plan;
}

}  // namespace submitd::config
