// Role: what a SIGHUP may change in a running daemon, as plain logic: given the settings it
// runs with and the file's settings now, which live changes to apply (log level, pacing,
// retry timing) and which changed keys need a restart to take effect (named, so the daemon
// can say so). The API key is always re-read on SIGHUP; it is not part of Settings.
#pragma once

#include <string>
#include <vector>

#include "config/settings.hpp"

namespace submitd::config {

struct ReloadPlan {
  bool log_level = false;     // log.level changed
  bool pacing = false;        // rate limit or retry budget changed
  bool retry_timing = false;  // retry_base/cap, retry_after_cap or blocked_retry changed
  std::vector<std::string> needs_restart;  // keys that changed but apply only at start
};

ReloadPlan plan_reload(const Settings& running, const Settings& fresh);

}  // namespace submitd::config
