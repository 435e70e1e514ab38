// Role: which waiting files to claim next, as plain logic. The periodic scan offers the
// oldest files (the backlog, first come first served); inotify announces files as they
// arrive. Claims alternate between the two, so a huge backlog never starves a file dropped
// now, and a stream of new drops never starves the backlog. Names may be stale (already
// claimed, or gone): claiming such a name simply finds nothing. A name whose claim failed
// rests for a while (see claim_failed), so a few unclaimable files cannot starve the rest.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/clock.hpp"

namespace submitd::spool {

class ClaimOrder {
 public:
  explicit ClaimOrder(std::size_t max_announced = 4096, std::chrono::seconds rest = std::chrono::seconds(60))
      : max_announced_(max_announced), rest_(rest) {}

  // A name inotify reported. Past the cap the oldest announcements are dropped: the scan
  // still finds those files, in age order.
  void announced(std::string name);
  std::size_t announced_count() const { return announced_.size(); }

  // The oldest waiting files of a scan (oldest first), kept and handed out over the following
  // claims: a scan costs a stat per file in incoming/, so a backlog is not scanned again for
  // every claim (its cost would grow with the backlog). Replaces what was kept.
  void scanned(std::vector<std::string> oldest);
  std::size_t backlog_kept() const { return backlog_.size() - backlog_next_; }

  // Up to `capacity` names: announced and oldest kept alternately (whichever has names left),
  // never the same name twice in one call.
  std::vector<std::string> next(std::size_t capacity);

  // A claim of `name` failed (not "gone": it is still there). It is not offered again, and the
  // scan keeps no slot for it (`resting`), until the rest has passed: then it is tried anew.
  // At most max_announced names rest; past that the one resting longest is let go early.
  void claim_failed(const std::string& name, MonoTime now);
  bool resting(std::string_view name) const { return resting_.find(name) != resting_.end(); }
  std::size_t resting_count() const { return resting_.size(); }
  // Ends the rests that are over; call before each scan.
  void wake_rested(MonoTime now);

 private:
  std::size_t max_announced_;
  std::chrono::seconds rest_;
  std::map<std::string, MonoTime, std::less<>> resting_;  // name -> end of its rest
  std::deque<std::string> announced_;
  std::vector<std::string> backlog_;  // from the last scan; [backlog_next_, end) not yet offered
  std::size_t backlog_next_ = 0;
  bool fresh_turn_ = true;
};

}  // namespace submitd::spool
