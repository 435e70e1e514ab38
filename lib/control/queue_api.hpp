// Role: the control socket's queue routes, as plain logic like the rest of ControlApi:
//   GET  /v1/queue[?limit=N]   every file in incoming/ (the N oldest; 1000 by default) and
//                              active/ with its requests by state
//   POST /v1/queue/hold|release|cancel   {"file": FILE|CLAIM[, "abortRunning": true]}
//   POST /v1/queue/requeue     {"file": "failed/NAME.retry.jsonl"}
//   POST /v1/queue/retry-now   wakes every deferred request
#pragma once

#include <string>
#include <string_view>

#include "control/control_api.hpp"
#include "util/clock.hpp"

namespace submitd::control {

inline constexpr std::string_view kQueuePrefix = "/v1/queue";
inline constexpr std::size_t kDefaultIncomingListed = 1000;

// `target` starts with kQueuePrefix (its query string kept). `now` dates the files' ages.
ControlAnswer queue_route(std::string_view method, std::string_view target, std::string_view body,
                          const ControlHooks& hooks, WallTime now);

// The report as JSON (see docs/control-api.md).
std::string queue_json(const spool::QueueReport& report, WallTime now);

}  // namespace submitd::control
