// Role: the daemon's long-lived parts as run_daemon builds them, named once so the pieces
// that connect them (the control hooks, the service manager) take them together. Only
// references: run_daemon owns every part and outlives whatever holds this.
#pragma once

#include "api/api_health.hpp"
#include "config/settings.hpp"
#include "util/uuid.hpp"

namespace submitd::api {
class HttpsPool;
class TokenCache;
}  // namespace submitd::api
namespace submitd::journal {
class Journal;
}
namespace submitd::submit {
class Engine;
}

namespace submitd {

struct DaemonParts {
  config::Settings& settings;  // as running: a SIGHUP updates the live-changeable keys
  const Uuid& job_namespace;
  api::HttpsPool& pool;
  const api::ApiHealth& api_health;
  api::TokenCache& tokens;
  journal::Journal& journal;
  submit::Engine& engine;
};

}  // namespace submitd
