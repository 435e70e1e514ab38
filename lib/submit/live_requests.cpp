// Role: the live request list (see live_requests.hpp).
#include "submit/live_requests.hpp"

namespace submitd::submit {

std::string_view live_state_name(LiveState s) {
  switch (s) {
    case LiveState::queued: return "queued";
    case LiveState::in_flight: return "submitting";
    case LiveState::deferred: return "deferred";
    case LiveState::paused: return "paused";
    case LiveState::held: return "held";
  }
  return "queued";
}

LiveRequest::LiveRequest(LiveRequests& list, std::string_view job_id, std::string_view claim_id)
    : list_(&list), job_id_(job_id), claim_id_(claim_id) {
  list.link(*this);
}

LiveRequest::~LiveRequest() {
  if (list_) list_->unlink(*this);
}

void LiveCounts::add(const LiveRequest& r) {
  switch (r.state()) {
    case LiveState::queued: ++queued; break;
    case LiveState::in_flight: ++in_flight; break;
    case LiveState::paused: ++paused; break;
    case LiveState::held: ++held; break;
    case LiveState::deferred:
      ++deferred;
      if (next_try == WallTime{} || r.next_try() < next_try) {
        next_try = r.next_try();
        next_reason = r.reason();
      }
      break;
  }
}

LiveRequests::~LiveRequests() {
  for (LiveRequest* r = head_; r; r = r->next_) r->list_ = nullptr;
}

void LiveRequests::link(LiveRequest& r) {
  r.next_ = head_;
  if (head_) head_->prev_ = &r;
  head_ = &r;
  ++size_;
}

void LiveRequests::unlink(LiveRequest& r) {
  if (r.prev_) {
    r.prev_->next_ = r.next_;
  } else {
    head_ = r.next_;
  }
  if (r.next_) r.next_->prev_ = r.prev_;
  r.prev_ = r.next_ = nullptr;
  --size_;
}

const LiveRequest* LiveRequests::find(std::string_view job_id) const {
  for (const LiveRequest* r = head_; r; r = r->next_) {
    if (r->job_id() == job_id) return r;
  }
  return nullptr;
}

std::map<std::string, LiveCounts, std::less<>> LiveRequests::by_claim() const {
  std::map<std::string, LiveCounts, std::less<>> out;
  for (const LiveRequest* r = head_; r; r = r->next_) {
    auto it = out.find(r->claim_id());
    if (it == out.end()) it = out.emplace(std::string(r->claim_id()), LiveCounts{}).first;
    it->second.add(*r);
  }
  return out;
}

std::size_t LiveRequests::count(LiveState state) const {
  std::size_t n = 0;
  for (const LiveRequest* r = head_; r; r = r->next_) n += r->state() == state ? 1 : 0;
  return n;
}

}  // namespace submitd::submit
