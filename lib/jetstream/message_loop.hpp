// Role: the daemon's side of a JetStream pull consumer, on threads of its own (cnats blocks).
// A fetch thread pulls as many messages as there is free room for (room = capacity - held),
// so a busy daemon does not hoard work the fleet could do. A settle thread publishes the
// outcomes handed to it (pipelined, each with its Nats-Msg-Id) and only then acks each
// message (AckSync); it also terminates poison messages, gives back (nak) what a stopping
// daemon will not finish, marks every held message in progress every third of the ack wait,
// and reads the consumer's pending count. A lost connection is waited out: cnats reconnects,
// and a message whose ack failed is acked again (its outcome publish repeats under the same
// id, which the outcome stream keeps once).
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <optional>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "jetstream/jetstream_client.hpp"

namespace submitd::jetstream {

// What the loop reports (metrics); called on the loop's threads.
class LoopEvents {
 public:
  virtual ~LoopEvents() = default;
  virtual void messages(std::string_view /*event: fetched, redelivered, acked, terminated, returned*/,
                        std::uint64_t /*count*/) {}
  virtual void connected(bool /*up*/) {}
  virtual void pending(std::uint64_t /*not yet delivered*/, std::uint64_t /*delivered, not acked*/) {}
  // Live members sharing the cost cap (fleet_members.hpp); on the I/O thread.
  virtual void fleet_members(std::size_t /*live*/) {}
};

struct LoopSettings {
  ConnectSettings connect;
  std::string stream;
  std::string consumer;
  std::string subject;
  int batch = 64;
  std::chrono::seconds ack_wait{60};
  std::size_t capacity = 1024;  // messages held (fetched, not settled) at most
  // Where this daemon records which stream (by its creation time) its namespace names; empty:
  // not checked. See stream_record_problem.
  std::filesystem::path stream_record;
  std::string job_namespace;
  std::uint64_t max_deliver = 0;  // intake.jetstream.max_deliver, checked against the consumer's
};

// A message's name is "<stream>:<sequence>", and a stream made anew (deleted and created
// again under its name) numbers its messages from 1 again: under the same namespace its
// messages would get the jobIds of the old stream's, whose jobs the API already holds, and
// would silently end as those. So a daemon records the stream it works (namespace, name,
// creation time) and refuses to work a stream of that name made at another time under the
// same namespace. The record's text, and what is wrong with working `created` given the
// record `recorded` ("" when there is none): nullopt when it may be worked.
std::string stream_record_text(const std::string& job_namespace, const std::string& stream, std::int64_t created);
std::optional<std::string> stream_record_problem(const std::string& recorded, const std::string& job_namespace,
                                                 const std::string& stream, std::int64_t created);

// The shared consumer's max deliver (as the cluster has it; <= 0: unlimited) against this
// daemon's intake.jetstream.max_deliver: the daemon ends a message with a failed outcome at
// the last delivery it allows, so a consumer that allows fewer would stop delivering a message
// that kills daemons before any daemon ends it, and leave it unacked for good. What is wrong,
// or nullopt when they agree.
std::optional<std::string> consumer_problem(const std::string& consumer, std::int64_t consumer_max_deliver,
                                            std::uint64_t max_deliver);

// Messages to pull now: at most `batch`, and no more than the room left by what is held.
inline std::size_t pull_size(std::size_t batch, std::size_t capacity, std::size_t held) {
  return held >= capacity ? 0 : std::min(batch, capacity - held);
}

// How a held message ends here; or (publish) a record to publish for a message settled before.
struct Settlement {
  enum class Kind { ack, terminate, give_back, publish } kind = Kind::ack;
  std::uint64_t stream_sequence = 0;
  // ack and terminate: published first (a terminated poison message has a failed outcome too).
  std::string outcome_subject;
  std::string outcome;
  std::string msg_id;
  int attempts = 0;  // rounds that failed to settle it (see settle_batch)
  // publish: called on the settle thread once the stream has the record. Tried until then
  // (never dropped after kSettleAttempts: no ack wait brings it back), or until the loop stops.
  std::function<void()> published = {};
};

struct LoopStatus {
  bool connected = false;
  std::string last_error;  // "" when none since the last success
  std::size_t held = 0;
  std::uint64_t pending = 0, ack_pending = 0;
};

class MessageLoop {
 public:
  // `deliveries` gets each fetched batch on the fetch thread: messages new to this daemon
  // (a redelivery of one it still holds only refreshes its handle).
  using Deliveries = std::function<void(std::vector<Delivery>)>;
  MessageLoop(LoopSettings settings, Deliveries deliveries, LoopEvents& events);
  ~MessageLoop();  // stop()s
  MessageLoop(const MessageLoop&) = delete;
  MessageLoop& operator=(const MessageLoop&) = delete;

  // Connects (retrying until stop) and starts pulling.
  void start();
  // From any thread.
  void settle(Settlement s);
  // Gives back what is held and not settled, settles what was handed over, and joins.
  void stop();
  LoopStatus status() const;

 private:
  struct Held {
    Delivery delivery;
    std::chrono::steady_clock::time_point next_progress;
  };
  void fetch_thread();
  void settle_thread();
  bool connect();  // on the fetch thread; false when stopping
  void check_stream(Client& client);  // throws JetStreamError when the stream may not be worked
  // Throws JetStreamError when the consumer may not be worked (consumer_problem); returns its ack wait.
  std::chrono::milliseconds check_consumer(Client& client);
  // One round of the settle thread: outcomes published, then acks, terms and naks; false
  // when some are left to try again.
  bool settle_batch(std::deque<Settlement>& batch);
  void mark_in_progress();
  void read_pending(std::chrono::steady_clock::time_point now);
  void note_error(const std::exception& e, std::string_view doing);
  void note_success();

  LoopSettings settings_;
  Deliveries deliveries_;
  LoopEvents& events_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;  // settlements queued, room made, connected, stopping
  bool stopping_ = false;
  bool connected_ = false;
  std::string last_error_;
  std::map<std::uint64_t, Held> held_;  // by stream sequence
  std::deque<Settlement> outbox_;
  std::uint64_t pending_ = 0, ack_pending_ = 0;
  std::chrono::steady_clock::time_point next_pending_read_{};  // settle thread only
  int final_rounds_ = 0;                                        // settle thread only

  std::unique_ptr<Client> client_;  // set once by the fetch thread, under mutex_
  std::unique_ptr<PullConsumer> consumer_;
  std::thread fetcher_, settler_;
};

}  // namespace submitd::jetstream
