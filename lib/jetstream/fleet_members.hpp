// Role: the fleet's live members, so that a fleet shares one submit.max_jobs_per_minute
// (issue 20). Each daemon writes its key "member.<id>" in the fleet's bucket every `period`
// and watches the others'; a member is live while its last write is at most `stale_after`
// older than this daemon's own last write. Both times are the server's (the time the stream
// stored each write), so no host's clock is trusted. A stopping daemon deletes its key (the
// others take its share at once); a killed one's ages out. On a thread and a connection of
// its own (cnats blocks); while the cluster is away, the last count stands.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "jetstream/jetstream_client.hpp"

namespace submitd::jetstream {

struct MembersSettings {
  ConnectSettings connect;
  std::string bucket;
  std::chrono::seconds ttl{7 * 86400};  // the bucket's, when it is made here
  std::string stream;                   // its replicas are the bucket's, when it is made here
  std::string member_id;                // unique in the fleet, the same after a restart
  std::chrono::milliseconds period{2000};
  std::chrono::milliseconds stale_after{6000};
};

// Members whose last write (server time, ns, by key) is no older than `stale_after` before
// `now_ns` (this daemon's own last write); at least 1 (this daemon).
std::size_t live_members(const std::map<std::string, std::int64_t>& written_ns, std::int64_t now_ns,
                         std::chrono::nanoseconds stale_after);
// A member's share of the fleet's cap (jobs per minute) among `live` members.
inline double member_share(double fleet_per_minute, std::size_t live) {
  return fleet_per_minute / static_cast<double>(live == 0 ? 1 : live);
}

class FleetMembers {
 public:
  // The live count changed (and once it is first known); on the members' thread.
  using Counted = std::function<void(std::size_t live)>;
  FleetMembers(MembersSettings settings, Counted counted);
  ~FleetMembers();  // stop()s
  FleetMembers(const FleetMembers&) = delete;
  FleetMembers& operator=(const FleetMembers&) = delete;

  void start();
  // Deletes this member's key (when the cluster answers) and joins.
  void stop();

 private:
  void run();
  // One turn: write when due, then take the changes seen within a tick. Throws on trouble.
  void turn(KeyValue& kv, std::chrono::steady_clock::time_point& next_write);
  bool stopping();

  MembersSettings settings_;
  Counted counted_;
  std::string own_key_;
  std::map<std::string, std::int64_t> written_;  // the members' thread only
  std::int64_t now_ns_ = 0;
  std::size_t reported_ = 0;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace submitd::jetstream
