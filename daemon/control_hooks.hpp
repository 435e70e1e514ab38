// Role: what the control socket (and systemd's STATUS= line) learn of the running daemon and
// may ask of it: the status snapshot, and the hooks ControlApi calls to store posted work,
// name jobIds, look up requests, pause and abort. Connects the parts; decides nothing.
#pragma once

#include "control/control_api.hpp"
#include "daemon_parts.hpp"

namespace submitd {

// The daemon now, as /v1/status, /healthz and the STATUS= line show it.
control::DaemonStatus daemon_status(const DaemonParts& parts);

// Holds references into `parts`: they must outlive the ControlApi the hooks go to.
control::ControlHooks make_control_hooks(const DaemonParts& parts);

}  // namespace submitd
