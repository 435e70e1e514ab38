// Role: the control socket's connection limits as plain decisions: how many connections may
// be open at once (the configured cap, bounded by the descriptors left once the daemon's own
// work has its reserve), the answer a connection past the cap gets, and which failed accepts
// are worth a log line. No sockets here: control_server.cpp acts on these.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "util/log_limiter.hpp"

namespace submitd::control {

// The fewest connections the descriptor bound leaves: `bytenite-submit` and a health check
// must still get in where the limit hardly covers the reserve (which is a generous estimate).
inline constexpr std::size_t kMinConnectionCap = 4;

struct ConnectionCap {
  std::size_t cap = 0;
  bool bounded_by_descriptors = false;  // lower than configured: worth a warning at start
};

// `configured`: control.max_connections; `descriptor_limit`: the soft RLIMIT_NOFILE in effect;
// `reserve`: descriptors kept for everything else the daemon opens (spool, journal, API
// connections, metrics). Idle clients must never be able to take those.
ConnectionCap connection_cap(std::size_t configured, std::uint64_t descriptor_limit, std::uint64_t reserve);

// What a client refused for the cap is told to wait before trying again (Retry-After).
inline constexpr unsigned kBusyRetryAfterSeconds = 1;

// The whole HTTP answer written to a connection past the cap right after accepting it (503,
// a JSON error naming the cap, Retry-After, Connection: close); the connection is then closed.
std::string busy_response(std::size_t cap);

// After a failed accept (mostly: out of descriptors) the loop waits this long before trying
// again. Descriptors come back only as others close, so trying at once would only spin.
inline constexpr std::chrono::milliseconds kAcceptBackoff{100};

// Failed accepts come in spells (while descriptors are short). The first failure of a spell
// is logged, then at most one a minute while it lasts; its end is worth one line too.
class AcceptTrouble {
 public:
  explicit AcceptTrouble(std::chrono::milliseconds repeat = std::chrono::minutes(1))
      : repeat_(repeat), limiter_(repeat) {}
  // A failed accept: nullopt to leave it out of the log, else log it with
  // log::Limiter::note(*skipped) appended.
  std::optional<std::uint64_t> failed(MonoTime now);
  // A successful accept: if it ends a spell, how many accepts failed in it (to log once).
  std::optional<std::uint64_t> succeeded();

 private:
  std::chrono::milliseconds repeat_;
  log::Limiter limiter_;
  std::uint64_t failures_ = 0;  // in the current spell
};

}  // namespace submitd::control
