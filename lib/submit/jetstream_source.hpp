// Role: a NATS JetStream stream as a request source (issue 20), beside the spool and the
// socket. Its MessageLoop pulls messages on threads of its own; here, on the I/O executor,
// each message is parsed by the same parser as a spool line, named by message_rules (jobId
// from the fleet's namespace and the stream sequence) and handed to the scheduler as a
// ticket, like a file's request. Its end becomes an outcome record (the outcome file's JSON
// plus stream and seq), which the loop publishes before it acks the message. With a fleet
// index, a request with a requestId is claimed there first: a later claimer's request ends
// as a duplicate of the winner's job. A request the
// daemon stops before its end is given back to the stream; nothing is written to the spool.
// With job following, a submitted message's job is followed like a file's, and its final
// record is published when it ends (message_finals.hpp); a message's journal records go
// as soon as they are not needed (its job's end published, or no job to follow).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>

#include "jetstream/fleet_members.hpp"
#include "jetstream/message_loop.hpp"
#include "jetstream/request_index.hpp"
#include "journal/journal.hpp"
#include "spool/request_parser.hpp"
#include "submit/message_finals.hpp"
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
  bool following = false;  // follow.enabled: final records are published
  // submit.max_jobs_per_minute shared by the fleet (with kv_bucket): this daemon's share is the
  // cap over the live members (fleet_members.hpp).
  std::optional<jetstream::MembersSettings> members;
  double fleet_jobs_per_minute = 0;
};

class JetStreamSource : public RequestSource {
 public:
  JetStreamSource(boost::asio::any_io_executor executor, JetStreamSourceSettings settings, Scheduler& scheduler,
                  journal::Journal& journal, const Clock& clock, SubmitEvents& events,
                  jetstream::LoopEvents& loop_events);
  ~JetStreamSource() override;

  // Pulls until stop(), then waits for the requests it started to end, settles them and
  // gives back what is left.
  boost::asio::awaitable<void> run() override;
  void stop() override;

  const std::string& stream() const { return settings_.loop.stream; }
  jetstream::LoopStatus status() const { return loop_->status(); }
  // Messages being worked here now.
  std::size_t working() const { return working_; }
  // A followed job of `claim_id` ended: when that is this stream, its final record is
  // published (true); false for any other claim (a file's).
  bool take_job_end(const std::string& claim_id);
  // Live members sharing the cost cap (0: not shared, or not counted yet).
  std::size_t fleet_members() const { return fleet_members_; }
  // Final records handed over and not yet confirmed by the outcome stream.
  std::size_t finals_publishing() const { return finals_ ? finals_->publishing() : 0; }

 private:
  void take(std::vector<jetstream::Delivery> batch);  // on the executor
  void work(const jetstream::Delivery& delivery);
  // A requestId's claim in the fleet's index was decided (nullopt: the daemon stopped first).
  void claimed(const MessageIdentity& id, Ticket ticket, std::optional<std::string> holder);
  void submit(const MessageIdentity& id, Ticket ticket);
  void ended(const MessageIdentity& id, RequestEnd end);
  void done_working();
  void members_counted(std::size_t live);  // on the executor
  void settle_now(const MessageIdentity& id, spool::OutcomeRecord record, jetstream::Settlement::Kind kind);

  boost::asio::any_io_executor executor_;
  JetStreamSourceSettings settings_;
  Scheduler& scheduler_;
  journal::Journal& journal_;
  const Clock& clock_;
  SubmitEvents& events_;
  spool::RequestParser parser_;
  WaitLine idle_;  // a request ended, or stop() was called
  bool stopping_ = false;
  std::size_t working_ = 0;
  std::unique_ptr<jetstream::RequestIndex> index_;  // nullptr: requestIds are this daemon's alone
  std::shared_ptr<MessageFinals> finals_;            // nullptr: jobs are not followed
  std::unique_ptr<jetstream::FleetMembers> members_;  // nullptr: the cost cap is this daemon's
  std::size_t fleet_members_ = 0;
  std::unique_ptr<jetstream::MessageLoop> loop_;  // last: its threads call take() through the executor
};

}  // namespace submitd::submit
