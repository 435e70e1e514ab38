// Role: the preflight, run by `--check-config` and at every start: what the configuration asks
// of this machine, checked before anything runs. The spool, state and control-socket
// directories exist or can be created and are writable, control.group exists, metrics.listen
// can be bound. Each finding names the config key, what is wrong and the fix, so the check
// and a refused start read the same. Which checks apply and what they say is plain logic; the
// probes that touch the system are injected (system_probes() has the real ones).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/settings.hpp"

namespace submitd {

struct PreflightFinding {
  std::string key;      // the config key, e.g. "spool.dir"
  std::string problem;  // what is wrong, with the path or address
  std::string fix;      // what to do about it
};

// "key: problem; fix: fix", one line, the form a refused start logs.
std::string describe(const PreflightFinding& finding);

// metrics.listen cannot be listened on, because of `problem` (also when the metrics server
// itself fails to, after the check passed).
PreflightFinding metrics_listen_finding(const config::MetricsSettings& metrics, const std::string& problem);

struct PreflightProbes {
  // Why `dir` is not usable (it should be a directory this process can write in, or one it
  // can create), nothing when it is.
  std::function<std::optional<std::string>(const std::filesystem::path& dir)> directory_problem;
  std::function<bool(const std::string& group)> group_exists;
  // Why nothing can listen on host:port, nothing when a listener could.
  std::function<std::optional<std::string>(const std::string& host, std::uint16_t port)> listen_problem;
  // A daemon already runs on this state directory (it holds the instance lock).
  std::function<bool(const std::filesystem::path& state_dir)> daemon_running;
};

// Probes of the real system: a directory is written (a scratch directory made and removed),
// groups are looked up in the group database, an address is bound and released.
PreflightProbes system_probes();

struct PreflightReport {
  std::vector<PreflightFinding> findings;  // what stands in the way of a start
  std::vector<std::string> notes;          // what was not checked, and why
  bool ok() const { return findings.empty(); }
};

// The checks, in the order of the configuration file. With a daemon already running on the
// state directory, its metrics port is in use by that daemon: not a finding, a note (a second
// daemon is refused by the instance lock, with its own message).
PreflightReport preflight(const config::Settings& settings, const PreflightProbes& probes);

}  // namespace submitd
