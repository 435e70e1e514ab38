// Role: the fleet's live members (see fleet_members.hpp).
#include "jetstream/fleet_members.hpp"

#include <pthread.h>

#include "jetstream/request_index.hpp"
#include "util/log.hpp"

namespace submitd::jetstream {
namespace {
constexpr std::chrono::milliseconds kTick{100};  // changes are taken, and a stop noticed, this often
}  // namespace

std::size_t live_members(const std::map<std::string, std::int64_t>& written_ns, std::int64_t now_ns,
                         std::chrono::nanoseconds stale_after) {
  std::size_t live = 0;
  for (const auto& [key, at] : written_ns) {
    if (at >= now_ns - stale_after.count()) ++live;
  }
  return std::max<std::size_t>(live, 1);
}

FleetMembers::FleetMembers(MembersSettings settings, Counted counted)
    : settings_(std::move(settings)), counted_(std::move(counted)), own_key_(bucket_key("member.", settings_.member_id)) {}

FleetMembers::~FleetMembers() { stop(); }

void FleetMembers::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "js-members");
    run();
  });
}

void FleetMembers::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool FleetMembers::stopping() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void FleetMembers::turn(KeyValue& kv, std::chrono::steady_clock::time_point& next_write) {
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_write) {
    kv.put(own_key_, settings_.member_id);
    next_write = now + settings_.period;
  }
  while (auto change = kv.next_change(kTick)) {
    if (change->removed) {
      written_.erase(change->key);
      continue;
    }
    written_[change->key] = change->written_ns;
    if (change->key == own_key_) now_ns_ = change->written_ns;
  }
  if (now_ns_ == 0) return;  // not yet seen its own write: the count is not known
  const std::size_t live = live_members(written_, now_ns_, settings_.stale_after);
  if (live == reported_) return;
  if (reported_ != 0) log::info("JetStream fleet: {} live members (was {})", live, reported_);
  reported_ = live;
  counted_(live);
}

void FleetMembers::run() {
  std::unique_ptr<Client> client;
  std::unique_ptr<KeyValue> kv;
  std::string last_error;
  auto next_write = std::chrono::steady_clock::now();
  while (!stopping()) {
    try {
      if (!kv) {
        if (!client) client = std::make_unique<Client>(settings_.connect);
        kv = std::make_unique<KeyValue>(*client, settings_.bucket, settings_.ttl,
                                        client->stream_replicas(settings_.stream));
        written_.clear();  // the watch gives every present key again
        kv->watch("member.>");
        next_write = std::chrono::steady_clock::now();
      }
      turn(*kv, next_write);
      if (!last_error.empty()) log::info("JetStream fleet: the members' count works again");
      last_error.clear();
    } catch (const std::exception& e) {
      if (last_error != e.what()) log::warn("JetStream fleet: counting the live members: {}", e.what());
      last_error = e.what();
      kv.reset();  // watched again from the start
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
    }
  }
  try {
    if (kv) kv->erase(own_key_);
  } catch (const std::exception& e) {
    log::warn("JetStream fleet: cannot remove this member's key (it ages out): {}", e.what());
  }
}

}  // namespace submitd::jetstream
