// Role: a NATS JetStream stream as a request source (issue 20), beside the spool and the
// socket. Its MessageLoop pulls messages on threads of its own; here, on the I/O executor,
// each message is parsed by the same parser as a spool line, named by message_rules (jobId
// from the fleet's namespace and the stream sequence) and handed to the scheduler as a
// ticket, like a file's request. Its end becomes an outcome record (the outcome file's JSON
// plus stream and seq), which the loop publishes before it acks the message. With a fleet
// index, a request with a requestId is claimed there first: a later claimer's request ends
// as a duplicate of the winner's job. A request the
// daemon stops before its end is given back to the stream; nothing is written to the spool.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>

#include "jetstream/message_loop.hpp"
#include "jetstream/request_index.hpp"
#include "spool/request_parser.hpp"
#include "submit/message_rules.hpp"
#include "submit/request_source.hpp"
#include "submit/scheduler.hpp"
#include "util/wait_line.hpp"

namespace submitd::submit {

struct JetStreamSourceSettings {
  jetstream::LoopSettings loop;
  std::uint64_t max_deliver = 5;
  std::string outcome_subject = "bytenite.outcomes";
  std::uint64_t max_request_bytes = 1024 * 1024;
  spool::InputFileRules input_rules;
  Uuid fleet_namespace;
  std::optional<jetstream::IndexSettings> index;  // the fleet's requestId index (kv_bucket)
};

class JetStreamSource : public RequestSource {
 public:
  JetStreamSource(boost::asio::any_io_executor executor, JetStreamSourceSettings settings, Scheduler& scheduler,
                  const Clock& clock, SubmitEvents& events, jetstream::LoopEvents& loop_events);
  ~JetStreamSource() override;

  // Pulls until stop(), then waits for the requests it started to end, settles them and
  // gives back what is left.
  boost::asio::awaitable<void> run() override;
  void stop() override;

  const std::string& stream() const { return settings_.loop.stream; }
  jetstream::LoopStatus status() const { return loop_->status(); }
  // Messages being worked here now.
  std::size_t working() const { return working_; }

 private:
  void take(std::vector<jetstream::Delivery> batch);  // on the executor
  void work(const jetstream::Delivery& delivery);
  // A requestId's claim in the fleet's index was decided (nullopt: the daemon stopped first).
  void claimed(const MessageIdentity& id, Ticket ticket, std::optional<std::string> holder);
  void submit(const MessageIdentity& id, Ticket ticket);
  void ended(const MessageIdentity& id, RequestEnd end);
  void done_working();
  void settle_now(const MessageIdentity& id, spool::OutcomeRecord record, jetstream::Settlement::Kind kind);

  boost::asio::any_io_executor executor_;
  JetStreamSourceSettings settings_;
  Scheduler& scheduler_;
  const Clock& clock_;
  SubmitEvents& events_;
  spool::RequestParser parser_;
  WaitLine idle_;  // a request ended, or stop() was called
  bool stopping_ = false;
  std::size_t working_ = 0;
  std::unique_ptr<jetstream::RequestIndex> index_;  // nullptr: requestIds are this daemon's alone
  std::unique_ptr<jetstream::MessageLoop> loop_;  // last: its threads call take() through the executor
};

}  // namespace submitd::submit
