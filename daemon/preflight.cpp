// Role: the preflight's checks and their wording (see preflight.hpp); the probes of the real
// system are in preflight_probes.cpp.
#include "preflight.hpp"

#include <fmt/format.h>

#include "spool/spool_paths.hpp"

namespace submitd {
namespace {

namespace fs = std::filesystem;

// The spool and the directories in it (only the ones that exist: the daemon makes the rest,
// and whether it can is the spool directory's own check).
std::optional<std::string> spool_problem(const config::Settings& settings, const PreflightProbes& probes) {
  const auto paths = spool::make_spool_paths(settings.spool.dir, settings.state.dir);
  if (auto problem = probes.directory_problem(paths.root)) return problem;
  for (const fs::path& sub : {paths.tmp, paths.incoming, paths.active, paths.done, paths.failed}) {
    std::error_code ec;
    if (!fs::exists(sub, ec)) continue;
    if (auto problem = probes.directory_problem(sub)) return problem;
  }
  return std::nullopt;
}

void check_directories(const config::Settings& settings, const PreflightProbes& probes, PreflightReport& report) {
  if (auto problem = spool_problem(settings, probes)) {
    report.findings.push_back(
        {"spool.dir", *problem,
         "create it, or set spool.dir to a directory this user can write in (the package's is "
         "/var/spool/bytenite-submitd, made by `systemd-tmpfiles --create`)"});
  }
  if (auto problem = probes.directory_problem(settings.state.dir)) {
    report.findings.push_back(
        {"state.dir", *problem,
         "set state.dir to a directory this user can write in (the package's is "
         "/var/lib/bytenite-submitd, the unit's StateDirectory=)"});
  }
  if (settings.results.download_dir) {
    if (auto problem = probes.directory_problem(*settings.results.download_dir)) {
      report.findings.push_back(
          {"results.download_dir", *problem,
           "create it, writable by the daemon's user (under the packaged unit, also a drop-in with "
           "ReadWritePaths= for it: everything else is read-only), or remove it to leave results "
           "behind their links"});
    }
  }
  if (settings.control.socket) {
    if (auto problem = probes.directory_problem(settings.control.socket->parent_path())) {
      report.findings.push_back(
          {"control.socket", *problem,
           "set control.socket to a path in a directory this user can write in (the package's is "
           "/run/bytenite-submitd/control.sock), or remove it to run without a control socket"});
    }
  }
}

void check_group(const config::Settings& settings, const PreflightProbes& probes, PreflightReport& report) {
  const auto& group = settings.control.group;
  if (!group || probes.group_exists(*group)) return;
  report.findings.push_back(
      {"control.group", fmt::format("group \"{}\" does not exist", *group),
       fmt::format("create it (`groupadd --system {}`; the package makes bytenite-submit), or remove "
                   "control.group to give the socket the daemon's own group",
                   *group)});
}

void check_metrics(const config::Settings& settings, const PreflightProbes& probes, PreflightReport& report) {
  const auto& m = settings.metrics;
  if (!m.enabled) return;
  if (probes.daemon_running(settings.state.dir)) {
    report.notes.push_back(fmt::format("metrics.listen ({}) not checked: a daemon is running on state.dir {} "
                                       "and serves it",
                                       m.listen, settings.state.dir.string()));
    return;
  }
  if (auto problem = probes.listen_problem(m.host, m.port)) report.findings.push_back(metrics_listen_finding(m, *problem));
}

}  // namespace

std::string describe(const PreflightFinding& finding) {
  return fmt::format("{}: {}; fix: {}", finding.key, finding.problem, finding.fix);
}

PreflightFinding metrics_listen_finding(const config::MetricsSettings& metrics, const std::string& problem) {
  return {"metrics.listen", fmt::format("cannot listen on {}: {}", metrics.listen, problem),
          fmt::format("free the port (`ss -ltnp 'sport = :{}'` shows who holds it), choose another in "
                      "metrics.listen, or set metrics.listen = \"\" to serve no metrics",
                      metrics.port)};
}

PreflightReport preflight(const config::Settings& settings, const PreflightProbes& probes) {
  PreflightReport report;
  check_directories(settings, probes, report);
  check_group(settings, probes, report);
  check_metrics(settings, probes, report);
  return report;
}

}  // namespace submitd
