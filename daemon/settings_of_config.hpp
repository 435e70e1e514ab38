// Role: the configuration (config::Settings, as read from the file) translated into the
// settings structs the libraries take. Pure: no logging, no files, no sockets, so every key is
// checked to arrive where it acts (tests/unit/daemon_settings_test.cpp). What depends on the
// process rather than the file (the proxy from the environment, paths) is added by the caller.
#pragma once

#include <filesystem>

#include "api/https_pool.hpp"
#include "api/token_state.hpp"
#include "config/settings.hpp"
#include "journal/journal_store.hpp"
#include "submit/engine.hpp"
#include "submit/pacing.hpp"
#include "submit/retry_policy.hpp"
#include "util/log.hpp"

namespace submitd {

log::Level log_level_of(config::LogLevel level);

// The HTTPS pool to the API; `proxy` stays unset (it comes from the environment).
api::PoolSettings pool_settings_of(const config::ApiSettings& api);
api::TokenTiming token_timing_of(const config::ApiSettings& api);

// The journal lives in the state directory as resolved by the spool layout.
journal::JournalStore::Options journal_options_of(const config::Settings& settings,
                                                  const std::filesystem::path& state_dir);

// The live-changeable parts: used at start and again after a SIGHUP.
submit::RetryTiming retry_timing_of(const config::ApiSettings& api);
submit::RetryBudgetSettings retry_budget_of(const config::ApiSettings& api);

// Everything the submission engine takes, filled field by field in this one place. The pause
// marker lives in the state directory as resolved by the spool layout.
submit::EngineSettings engine_settings_of(const config::Settings& settings,
                                          const std::filesystem::path& state_dir);

}  // namespace submitd
