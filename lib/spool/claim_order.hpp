// Role: which waiting files to claim next, as plain logic. The periodic scan offers the
// oldest files (the backlog, first come first served); inotify announces files as they
// arrive. Claims alternate between the two, so a huge backlog never starves a file dropped
// now, and a stream of new drops never starves the backlog. Names may be stale (already
// claimed, or gone): claiming such a name simply finds nothing.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

namespace submitd::spool {

class ClaimOrder {
 public:
  explicit ClaimOrder(std::size_t max_announced = 4096) : max_announced_(max_announced) {}

  // A name inotify reported. Past the cap the oldest announcements are dropped: the scan
  // still finds those files, in age order.
  void announced(std::string name);
  std::size_t announced_count() const { return announced_.size(); }

  // Up to `capacity` names: announced and oldest alternately (whichever has names left),
  // never the same name twice.
  std::vector<std::string> next(const std::vector<std::string>& oldest, std::size_t capacity);

 private:
  std::size_t max_announced_;
  std::deque<std::string> announced_;
  bool fresh_turn_ = true;
};

}  // namespace submitd::spool
