// Role: the one home of cnats (the NATS C client) in bytenite-submitd (issue 20): a connection
// to a NATS cluster with JetStream, and the few things the intake needs from it, in plain C++
// types: setting up a stream and its durable pull consumer, publishing with a Nats-Msg-Id,
// fetching a batch from a pull consumer with each message's stream sequence and delivery
// count, acking (AckSync), marking in progress or terminating a message, and a key-value
// bucket with create-only writes (the fleet's requestId index). Every call blocks (cnats
// does its I/O on threads of its own), so the daemon calls these from a thread of the source,
// never from the I/O thread. Failures throw JetStreamError with cnats's words.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace submitd::jetstream {

class JetStreamError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ConnectSettings {
  std::vector<std::string> servers;  // nats:// or tls:// URLs
  std::optional<std::filesystem::path> creds_file;
  std::optional<std::filesystem::path> ca_file;
  std::chrono::milliseconds timeout{5000};  // connecting, and each JetStream API call
};

struct StreamSetup {
  std::string name;
  std::vector<std::string> subjects;
  int replicas = 1;
  bool work_queue = true;  // a message leaves the stream once acked (the request queue)
  std::chrono::seconds duplicate_window{120};  // Nats-Msg-Id de-duplication
};

struct ConsumerSetup {
  std::string stream;
  std::string durable;
  std::string filter_subject;  // empty: all of the stream's subjects
  std::chrono::seconds ack_wait{60};
  int max_deliver = 5;
};

struct PublishAck {
  std::uint64_t sequence = 0;
  bool duplicate = false;  // the stream already had this Nats-Msg-Id
};

// One fetched message. Ack, mark or terminate it through its PullConsumer.
struct Delivery {
  std::uint64_t stream_sequence = 0;
  std::uint64_t delivered = 0;  // 1 on the first delivery
  std::string subject;
  std::string data;
  std::shared_ptr<void> message;  // the cnats message, freed with the last copy
};

class Client {
 public:
  // Connects to the first server that answers; throws JetStreamError naming why not.
  explicit Client(const ConnectSettings& settings);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Creates the stream, or leaves an existing one with that name as it is; true when created.
  bool ensure_stream(const StreamSetup& setup);
  // Deletes the stream and its messages (tests, and an operator's tooling).
  void delete_stream(const std::string& name);
  // Creates the durable pull consumer, or leaves an existing one as it is; true when created.
  bool ensure_consumer(const ConsumerSetup& setup);
  // Consumer's messages not yet delivered, and delivered but not acked.
  struct ConsumerCounts {
    std::uint64_t pending = 0;
    std::uint64_t ack_pending = 0;
    // Its settings, as the cluster has them (the fleet's daemons must agree with them).
    std::chrono::milliseconds ack_wait{0};
    std::int64_t max_deliver = 0;  // -1 or 0: unlimited
  };
  ConsumerCounts consumer_counts(const std::string& stream, const std::string& durable);
  // How many copies the cluster keeps of `stream` (its Replicas).
  int stream_replicas(const std::string& stream);
  // When `stream` was made (nanoseconds since the epoch): a stream made anew starts its
  // sequence numbers again.
  std::int64_t stream_created(const std::string& stream);
  PublishAck publish(const std::string& subject, std::string_view data, const std::string& msg_id = {});
  // Publishes every message without waiting between them (pipelined), then waits up to the
  // client's timeout for their acks. One entry per message: true when the stream stored it
  // (or had it already: a repeated Nats-Msg-Id). Each msg_id must be set and unique here.
  struct Outgoing {
    std::string subject;
    std::string data;
    std::string msg_id;
  };
  std::vector<bool> publish_all(const std::vector<Outgoing>& messages);

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

class PullConsumer {
 public:
  // Binds to the durable consumer `durable` of `stream` (it must exist).
  PullConsumer(Client& client, const std::string& stream, const std::string& durable, const std::string& subject);
  ~PullConsumer();
  PullConsumer(const PullConsumer&) = delete;
  PullConsumer& operator=(const PullConsumer&) = delete;

  // Up to `batch` messages, waiting at most `wait` for the first; empty when none came.
  std::vector<Delivery> fetch(int batch, std::chrono::milliseconds wait);
  // Acked and confirmed by the server (the message is gone from a work queue).
  void ack_sync(const Delivery& d);
  // Acked without waiting for the server's word (a reader that can afford to see a message twice).
  void ack(const Delivery& d);
  // Still being worked: its ack wait starts again.
  void in_progress(const Delivery& d);
  // Never delivered again.
  void terminate(const Delivery& d);
  // Not worked here: delivered again at once (to any member of the fleet).
  void nak(const Delivery& d);

 private:
  struct Sub;
  std::unique_ptr<Sub> sub_;
};

// A key-value bucket with create-only writes: the first writer of a key wins.
class KeyValue {
 public:
  // Binds to `bucket`, creating it (with `ttl` per key, `replicas`) when it does not exist.
  KeyValue(Client& client, const std::string& bucket, std::chrono::seconds ttl, int replicas);
  bool created() const { return created_; }
  ~KeyValue();
  KeyValue(const KeyValue&) = delete;
  KeyValue& operator=(const KeyValue&) = delete;

  // True when this call wrote the key; false when it existed already.
  bool create(const std::string& key, std::string_view value);
  std::optional<std::string> get(const std::string& key);
  void put(const std::string& key, std::string_view value);
  void erase(const std::string& key);

  // A change of a watched key: written (when, by the server's clock) or removed.
  struct Change {
    std::string key;
    std::int64_t written_ns = 0;
    bool removed = false;
  };
  // Watches the keys matching `keys` ("member.>"): each present key first, then each change.
  void watch(const std::string& keys);
  // The next change, waiting at most `timeout`; nullopt when none came.
  std::optional<Change> next_change(std::chrono::milliseconds timeout);

 private:
  struct Store;
  std::unique_ptr<Store> store_;
  bool created_ = false;
};

}  // namespace submitd::jetstream
