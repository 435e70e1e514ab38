// Role: the fleet's requestId index in a JetStream key-value bucket (issue 20), on a thread of
// its own with a connection of its own (cnats blocks). A claim is a create-only write of
// requestId -> jobId: the first daemon of the fleet to claim a requestId wins, and every
// later claim learns the winner's jobId. The bucket's TTL is the retention of requestIds.
// A bucket that does not exist is made with the replicas of the request stream (the index is
// as durable as the requests). While the cluster is away a claim waits; a stop answers the
// claims still waiting with "undecided".
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "jetstream/jetstream_client.hpp"

namespace submitd::jetstream {

struct IndexSettings {
  ConnectSettings connect;
  std::string bucket;
  std::chrono::seconds ttl{7 * 86400};
  std::string stream;  // its replicas are the bucket's, when the bucket is made here
};

class RequestIndex {
 public:
  // The jobId that holds the requestId (ours when we won, or when the message claimed it
  // before); nullopt when stopped before it was decided. Called on the index's thread.
  using Decided = std::function<void(std::optional<std::string> holder)>;

  explicit RequestIndex(IndexSettings settings);
  ~RequestIndex();  // stop()s
  RequestIndex(const RequestIndex&) = delete;
  RequestIndex& operator=(const RequestIndex&) = delete;

  void start();
  void claim(std::string request_id, std::string job_id, Decided decided);
  // Answers what waits with nullopt and joins.
  void stop();

 private:
  struct Claim {
    std::string request_id;
    std::string job_id;
    Decided decided;
  };
  void run();
  bool connect(std::unique_ptr<Client>& client, std::unique_ptr<KeyValue>& kv);

  IndexSettings settings_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::deque<Claim> claims_;
  std::string last_error_;
  std::thread thread_;
};

// A name as a key after `prefix`: letters, digits, '-' and '_' as they are, every other
// byte as '=' and two hex digits (keys allow few characters; this keeps distinct names distinct).
std::string bucket_key(std::string_view prefix, std::string_view name);
// A requestId's key: "rid." and the requestId (bucket_key).
std::string index_key(std::string_view request_id);

}  // namespace submitd::jetstream
