// Role: the claim order (see claim_order.hpp).
#include "spool/claim_order.hpp"

#include <algorithm>
#include <unordered_set>

namespace submitd::spool {

void ClaimOrder::announced(std::string name) {
  if (std::find(announced_.begin(), announced_.end(), name) != announced_.end()) return;
  announced_.push_back(std::move(name));
  if (announced_.size() > max_announced_) announced_.pop_front();
}

void ClaimOrder::claim_failed(const std::string& name, MonoTime now) {
  std::erase(announced_, name);
  if (resting_.size() >= max_announced_ && !resting_.contains(name)) {
    auto longest = std::min_element(resting_.begin(), resting_.end(),
                                    [](const auto& a, const auto& b) { return a.second < b.second; });
    resting_.erase(longest);
  }
  resting_[name] = now + rest_;
}

void ClaimOrder::wake_rested(MonoTime now) {
  std::erase_if(resting_, [now](const auto& entry) { return entry.second <= now; });
}

void ClaimOrder::scanned(std::vector<std::string> oldest) {
  backlog_ = std::move(oldest);
  backlog_next_ = 0;
}

std::vector<std::string> ClaimOrder::next(std::size_t capacity) {
  std::vector<std::string> out;
  std::unordered_set<std::string> taken;
  auto take_announced = [&] {
    while (!announced_.empty()) {
      std::string name = std::move(announced_.front());
      announced_.pop_front();
      if (!resting(name) && taken.insert(name).second) {
        out.push_back(std::move(name));
        return true;
      }
    }
    return false;
  };
  auto take_oldest = [&] {
    while (backlog_next_ < backlog_.size()) {
      std::string& name = backlog_[backlog_next_++];
      if (!resting(name) && taken.insert(name).second) {
        out.push_back(std::move(name));
        return true;
      }
    }
    return false;
  };
  while (out.size() < capacity) {
    bool took = fresh_turn_ ? (take_announced() || take_oldest()) : (take_oldest() || take_announced());
    if (!took) break;
    fresh_turn_ = !fresh_turn_;
  }
  return out;
}

}  // namespace submitd::spool
