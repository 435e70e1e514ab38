// Role: the configuration (config::Settings, as read from the file) translated into the
// settings structs the libraries take. Pure: no logging, no files, no sockets, so every key is
// checked to arrive where it acts (tests/unit/daemon_settings_test.cpp). What depends on the
// process rather than the file (the proxy from the environment, paths) is added by the caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>

#include "api/https_pool.hpp"
#include "api/storage_client.hpp"
#include "api/token_state.hpp"
#include "config/settings.hpp"
#include "control/connection_limit.hpp"
#include "journal/journal_store.hpp"
#include "submit/engine.hpp"
#include "submit/pacing.hpp"
#include "submit/retry_policy.hpp"
#include "util/log.hpp"

namespace submitd {

log::Level log_level_of(config::LogLevel level);

// The HTTPS pool to the API; `proxy` stays unset (it comes from the environment).
api::PoolSettings pool_settings_of(const config::ApiSettings& api);
// The storage hosts' pools (uploads): the API's trust and proxy rules, upload.* for the rest.
api::StorageSettings storage_settings_of(const config::Settings& settings, const api::ProxyEnvironment& proxy_env);
api::TokenTiming token_timing_of(const config::ApiSettings& api);

// The journal lives in the state directory as resolved by the spool layout.
journal::JournalStore::Options journal_options_of(const config::Settings& settings,
                                                  const std::filesystem::path& state_dir);

// The live-changeable parts: used at start and again after a SIGHUP.
submit::RetryTiming retry_timing_of(const config::ApiSettings& api);
submit::RetryBudgetSettings retry_budget_of(const config::ApiSettings& api);

// Where a SIGHUP's API settings go: the scheduler's pacing and retry timing, and the two
// holds api.blocked_retry also sets (connecting after a refused certificate, exchanging after
// a refused key), which a reload once left at their start-up values. Functions, so what a
// reload reaches is checked without a running daemon.
struct LiveApiReceivers {
  std::function<void(double rate_limit_per_second, submit::RetryBudgetSettings, submit::RetryTiming)> scheduler;
  std::function<void(std::chrono::milliseconds)> certificate_hold;
  std::function<void(std::chrono::milliseconds)> key_refused_hold;
};
void apply_live_api_settings(const config::ApiSettings& api, const LiveApiReceivers& to);

// Everything the submission engine takes, filled field by field in this one place. The pause
// marker lives in the state directory as resolved by the spool layout.
submit::EngineSettings engine_settings_of(const config::Settings& settings,
                                          const std::filesystem::path& state_dir);
// The JetStream source's part of it ([intake.jetstream]).
submit::JetStreamSourceSettings jetstream_source_settings_of(const config::Settings& settings,
                                                             const std::filesystem::path& state_dir);

// The most files worked at once: spool.max_active_files being read, and past that files read
// to their end that wait for their requests (submit::files_room), so that requests in flight
// do not depend on how producers cut their files.
std::size_t files_ceiling_of(const config::Settings& settings);

// Descriptors the daemon keeps for its own work, whatever the control socket's clients do:
// a fixed part (measured: about 20 at rest, plus the metrics endpoint's listener, 8 workers
// and their queue), then two per API connection and two per file worked at once.
std::uint64_t descriptor_reserve_of(const config::Settings& settings);

// control.max_connections, bounded by `descriptor_limit` (the soft RLIMIT_NOFILE in effect)
// less descriptor_reserve_of(settings): idle clients can never take the spool's descriptors.
control::ConnectionCap control_connection_cap_of(const config::Settings& settings,
                                                 std::uint64_t descriptor_limit);

}  // namespace submitd
