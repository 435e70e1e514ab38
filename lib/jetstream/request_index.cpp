// Role: the fleet's requestId index (see request_index.hpp).
#include "jetstream/request_index.hpp"

#include <pthread.h>

#include "util/log.hpp"

namespace submitd::jetstream {

std::string bucket_key(std::string_view prefix, std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string key(prefix);
  for (unsigned char c : name) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
      key += static_cast<char>(c);
    } else {
      key += '=';
      key += kHex[c >> 4];
      key += kHex[c & 0xF];
    }
  }
  return key;
}

std::string index_key(std::string_view request_id) { return bucket_key("rid.", request_id); }

RequestIndex::RequestIndex(IndexSettings settings) : settings_(std::move(settings)) {}

RequestIndex::~RequestIndex() { stop(); }

void RequestIndex::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "js-index");
    run();
  });
}

void RequestIndex::claim(std::string request_id, std::string job_id, Decided decided) {
  {
    std::lock_guard lock(mutex_);
    claims_.push_back({std::move(request_id), std::move(job_id), std::move(decided)});
  }
  changed_.notify_all();
}

void RequestIndex::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& c : claims_) c.decided(std::nullopt);  // claimed after the thread ended
  claims_.clear();
}

bool RequestIndex::connect(std::unique_ptr<Client>& client, std::unique_ptr<KeyValue>& kv) {
  try {
    if (!client) client = std::make_unique<Client>(settings_.connect);
    kv = std::make_unique<KeyValue>(*client, settings_.bucket, settings_.ttl, client->stream_replicas(settings_.stream));
    log::info("JetStream intake: requestIds are claimed in key-value bucket {}", settings_.bucket);
    last_error_.clear();
    return true;
  } catch (const std::exception& e) {
    if (last_error_ != e.what()) log::warn("JetStream intake: the requestId index: {}", e.what());
    last_error_ = e.what();
    return false;
  }
}

void RequestIndex::run() {
  std::unique_ptr<Client> client;
  std::unique_ptr<KeyValue> kv;
  for (;;) {
    Claim next;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || !claims_.empty(); });
      if (stopping_) break;
      next = std::move(claims_.front());
      claims_.pop_front();
    }
    const std::string key = index_key(next.request_id);
    std::optional<std::string> holder;
    while (!holder) {
      try {
        if (kv || connect(client, kv)) {
          holder = kv->create(key, next.job_id) ? next.job_id : kv->get(key);
          // Claimed and then gone (its TTL ran out in between): claim it again.
          if (!holder) continue;
          if (!last_error_.empty()) log::info("JetStream intake: the requestId index works again");
          last_error_.clear();
          break;
        }
      } catch (const std::exception& e) {
        if (last_error_ != e.what()) log::warn("JetStream intake: claiming a requestId: {}", e.what());
        last_error_ = e.what();
      }
      std::unique_lock lock(mutex_);
      if (changed_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) break;
    }
    if (!holder) {
      next.decided(std::nullopt);
      break;
    }
    next.decided(std::move(holder));
  }
  std::deque<Claim> rest;
  {
    std::lock_guard lock(mutex_);
    rest.swap(claims_);
  }
  for (auto& c : rest) c.decided(std::nullopt);
}

}  // namespace submitd::jetstream
