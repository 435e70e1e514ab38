// Role: `--check-config --online`: one token exchange with the configured API, key and proxy,
// as the daemon would make it, so a wrong URL, an untrusted certificate or a refused key shows
// before the service starts. The key goes only into the exchange; the result names the cause.
#pragma once

#include <optional>

#include "api/proxy_settings.hpp"
#include "config/settings.hpp"
#include "preflight.hpp"

namespace submitd {

struct OnlineFailure {
  PreflightFinding finding;
  bool temporary = false;  // the API was not reached or did not answer: try again later
};

// Nothing when the API gave a token; otherwise what went wrong.
std::optional<OnlineFailure> online_check(const config::Settings& settings, const std::string& api_key,
                                             const api::ProxyEnvironment& proxy_env);

}  // namespace submitd
