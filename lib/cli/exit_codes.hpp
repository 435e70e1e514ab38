// Role: bytenite-submit's exit statuses, one table for every command (bytenite-submit(1) and
// --help say the same), and what a control-socket reply means in it.
#pragma once

#include "cli/control_client.hpp"

namespace submitd::cli {

enum ExitCode : int {
  kDone = 0,        // done: valid, queued, found, taken
  kRefused = 1,     // something was refused, is unknown, or failed
  kUsage = 2,       // usage error, or the daemon could not be asked (not running, no socket)
  kTemporary = 75,  // the daemon said 503 (busy, disk full, shutting down): try again (EX_TEMPFAIL)
};

// The status a reply means when the command has no finer reading of it: no answer is
// kUsage, a 503 kTemporary, a 2xx kDone, anything else kRefused.
inline int exit_code_of(const ControlReply& reply) {
  if (reply.status == 0) return kUsage;
  if (reply.status == 503) return kTemporary;
  if (reply.status >= 200 && reply.status < 300) return kDone;
  return kRefused;
}

}  // namespace submitd::cli
