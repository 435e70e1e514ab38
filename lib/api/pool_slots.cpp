// Role: the connection pool's decisions (see pool_slots.hpp).
#include "api/pool_slots.hpp"

namespace submitd::api {

PoolSlots::PoolSlots(std::size_t slots, std::chrono::milliseconds idle_timeout)
    : slots_(slots == 0 ? 1 : slots), idle_timeout_(idle_timeout) {}

std::optional<PoolSlots::Lease> PoolSlots::acquire(MonoTime now) {
  std::optional<std::size_t> fresh, closed, stale;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const SlotHealth& s = slots_[i];
    if (s.busy) continue;
    if (!s.open) {
      if (!closed) closed = i;
    } else if (now - s.last_used > idle_timeout_) {
      if (!stale) stale = i;
    } else if (!fresh || s.last_used > slots_[*fresh].last_used) {
      fresh = i;
    }
  }
  Lease lease;
  if (fresh) {
    lease = {*fresh, true, false};
  } else if (closed) {
    lease = {*closed, false, false};
  } else if (stale) {
    // Idle past the timeout: the server has likely closed it; do not gamble a call on it.
    lease = {*stale, false, true};
  } else {
    return std::nullopt;
  }
  slots_[lease.slot].busy = true;
  ++busy_;
  return lease;
}

void PoolSlots::opened(std::size_t slot, bool resumed) {
  ++connects_;
  if (resumed) ++resumed_;
  SlotHealth& s = slots_[slot];
  if (!s.open) ++open_;
  s.open = true;
  s.calls = 0;
}

void PoolSlots::closed(std::size_t slot, bool after_failure) {
  SlotHealth& s = slots_[slot];
  if (s.open) --open_;
  s.open = false;
  if (after_failure) ++s.failures;
}

void PoolSlots::release(std::size_t slot, MonoTime now) {
  SlotHealth& s = slots_[slot];
  if (s.busy) --busy_;
  s.busy = false;
  s.last_used = now;
}

bool PoolSlots::should_replay(bool reused, bool stale, bool replay_safe, int attempt) {
  return reused && stale && replay_safe && attempt == 0;
}

void PoolSlots::certificate_refused(std::string reason, MonoTime now, std::chrono::milliseconds hold) {
  held_until_ = now + hold;
  held_reason_ = std::move(reason);
}

std::optional<std::string> PoolSlots::connect_held(MonoTime now) const {
  if (held_until_ && now < *held_until_) return held_reason_;
  return std::nullopt;
}

}  // namespace submitd::api
