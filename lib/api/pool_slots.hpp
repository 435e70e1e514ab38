// Role: the decisions of the connection pool, as plain logic with injected time: which slot a
// call gets (an open keep-alive connection if one is fresh enough, else one to open), when
// an idle connection is too old to trust, when a failed call may be replayed, and when the
// pool refuses to connect for a while because the server's certificate was not accepted (a
// configuration problem that retrying every request at full speed cannot fix). It also knows
// each slot's health for status and metrics. HttpsPool performs what it decides.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/clock.hpp"

namespace submitd::api {

class PoolSlots {
 public:
  struct Lease {
    std::size_t slot = 0;
    // The slot's connection is open and fresh: send on it. Otherwise open a new one first
    // (after closing a stale one when `close_first`).
    bool reuse = false;
    bool close_first = false;
  };

  struct SlotHealth {
    bool open = false;
    bool busy = false;
    std::uint64_t calls = 0;     // calls sent on the current connection
    std::uint64_t failures = 0;  // connections of this slot that ended in a failure
    MonoTime last_used{};
  };

  PoolSlots(std::size_t slots, std::chrono::milliseconds idle_timeout);

  // A free slot for a call, or nullopt when all are busy (the caller waits for a release).
  // Prefers the most recently used open connection: it is the likeliest still to be alive.
  std::optional<Lease> acquire(MonoTime now);
  // `resumed`: the TLS handshake resumed an earlier session (cheaper than a full one).
  void opened(std::size_t slot, bool resumed);
  // The connection of `slot` was closed (by us, the server or a failure).
  void closed(std::size_t slot, bool after_failure);
  void call_done(std::size_t slot) { ++slots_[slot].calls; }
  void release(std::size_t slot, MonoTime now);

  // May a call that failed be sent again at once on a fresh connection? Only when it met a
  // reused connection the server had closed before reading it (`stale`), the call is safe
  // to repeat, and this was its first try: anything else is reported upwards.
  static bool should_replay(bool reused, bool stale, bool replay_safe, int attempt);

  // Certificate refusal: for `hold` after one, connecting is refused at once with the same
  // reason, so an untrusted server costs one handshake per hold, not one per request.
  void certificate_refused(std::string reason, MonoTime now, std::chrono::milliseconds hold);
  // The reason while connecting is held, else nullopt.
  std::optional<std::string> connect_held(MonoTime now) const;
  void certificate_accepted() { held_until_.reset(); }

  std::size_t size() const { return slots_.size(); }
  std::size_t open_count() const { return open_; }
  std::size_t busy_count() const { return busy_; }
  const SlotHealth& health(std::size_t slot) const { return slots_[slot]; }
  std::uint64_t connects() const { return connects_; }
  std::uint64_t resumed_connects() const { return resumed_; }

 private:
  std::vector<SlotHealth> slots_;
  std::chrono::milliseconds idle_timeout_;
  std::size_t open_ = 0;
  std::size_t busy_ = 0;
  std::uint64_t connects_ = 0;
  std::uint64_t resumed_ = 0;
  std::optional<MonoTime> held_until_;
  std::string held_reason_;
};

}  // namespace submitd::api
