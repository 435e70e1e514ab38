// Role: where each accepted request is now, for the operator (bytenite-submit queue, GET
// /v1/jobs/{requestId}): waiting for an in-flight place or a rate permit (queued), at the API
// (in_flight), waiting to retry (deferred, with the reason and the next try), or held by a
// pause or a file's hold. Each request's entry lives in its own coroutine frame and is linked
// into one intrusive list: entering and leaving cost no allocation on the hot path, and the
// questions (per file counts, one request's state) walk the list when an operator asks.
// Single-threaded, like the scheduler that owns it.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "util/clock.hpp"

namespace submitd::submit {

enum class LiveState { queued, in_flight, deferred, paused, held };
std::string_view live_state_name(LiveState s);

class LiveRequests;

// One request's entry; linked while it exists (the list must outlive it, or be destroyed
// first: then the entry is simply unlinked).
class LiveRequest {
 public:
  LiveRequest(LiveRequests& list, std::string_view job_id, std::string_view claim_id);
  ~LiveRequest();
  LiveRequest(const LiveRequest&) = delete;
  LiveRequest& operator=(const LiveRequest&) = delete;

  void set(LiveState state) { state_ = state; }
  void defer(std::string reason, WallTime next_try) {
    state_ = LiveState::deferred;
    reason_ = std::move(reason);
    next_try_ = next_try;
  }

  std::string_view job_id() const { return job_id_; }
  std::string_view claim_id() const { return claim_id_; }
  LiveState state() const { return state_; }
  const std::string& reason() const { return reason_; }
  WallTime next_try() const { return next_try_; }

 private:
  friend class LiveRequests;
  LiveRequests* list_;
  std::string_view job_id_, claim_id_;  // views into the request's own frame
  LiveState state_ = LiveState::queued;
  std::string reason_;
  WallTime next_try_{};
  LiveRequest* prev_ = nullptr;
  LiveRequest* next_ = nullptr;
};

// The requests of one file, by state; the deferral that comes soonest.
struct LiveCounts {
  std::size_t queued = 0, in_flight = 0, deferred = 0, paused = 0, held = 0;
  std::string next_reason;  // of the soonest deferral
  WallTime next_try{};      // zero: none deferred
  void add(const LiveRequest& r);
};

class LiveRequests {
 public:
  LiveRequests() = default;
  ~LiveRequests();
  LiveRequests(const LiveRequests&) = delete;
  LiveRequests& operator=(const LiveRequests&) = delete;

  std::size_t size() const { return size_; }
  const LiveRequest* find(std::string_view job_id) const;
  std::map<std::string, LiveCounts, std::less<>> by_claim() const;
  std::size_t count(LiveState state) const;

 private:
  friend class LiveRequest;
  void link(LiveRequest& r);
  void unlink(LiveRequest& r);
  LiveRequest* head_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace submitd::submit
