// Role: a NATS JetStream stream as a request source (see jetstream_source.hpp).
#include "submit/jetstream_source.hpp"

#include <boost/asio/post.hpp>

#include "util/log.hpp"

namespace submitd::submit {
namespace asio = boost::asio;
using jetstream::Settlement;

JetStreamSource::JetStreamSource(asio::any_io_executor executor, JetStreamSourceSettings settings,
                                 Scheduler& scheduler, journal::Journal& journal, const Clock& clock,
                                 SubmitEvents& events, jetstream::LoopEvents& loop_events)
    : executor_(executor),
      settings_(std::move(settings)),
      scheduler_(scheduler),
      journal_(journal),
      clock_(clock),
      events_(events),
      parser_(settings_.input_rules),
      idle_(executor) {
  loop_ = std::make_unique<jetstream::MessageLoop>(
      settings_.loop,
      [this](std::vector<jetstream::Delivery> batch) {
        asio::post(executor_, [this, batch = std::move(batch)]() mutable { take(std::move(batch)); });
      },
      loop_events);
  if (settings_.index) index_ = std::make_unique<jetstream::RequestIndex>(*settings_.index);
  if (settings_.members) {
    members_ = std::make_unique<jetstream::FleetMembers>(*settings_.members, [this](std::size_t live) {
      asio::post(executor_, [this, live] { members_counted(live); });
    });
  }
  if (settings_.following) {
    finals_ = std::make_shared<MessageFinals>(
        executor_, journal_, stream(),
        [this](std::uint64_t seq, std::string record, std::string msg_id, std::function<void()> published) {
          loop_->settle(Settlement{Settlement::Kind::publish, seq, settings_.outcome_subject, std::move(record),
                                   std::move(msg_id), 0, std::move(published)});
        });
  }
}

void JetStreamSource::members_counted(std::size_t live) {
  fleet_members_ = live;
  events_.fleet_members(live);
  const double share = jetstream::member_share(settings_.fleet_jobs_per_minute, live);
  log::info("JetStream fleet: {} live members share submit.max_jobs_per_minute = {}: {:.1f} a minute here", live,
            settings_.fleet_jobs_per_minute, share);
  scheduler_.set_jobs_per_minute(share);
}

bool JetStreamSource::take_job_end(const std::string& claim_id) {
  if (claim_id != stream()) return false;
  if (finals_) finals_->job_ended();
  return true;
}

JetStreamSource::~JetStreamSource() {
  loop_->stop();
  if (index_) index_->stop();
  if (members_) members_->stop();
}

void JetStreamSource::stop() {
  stopping_ = true;
  if (index_) index_->stop();  // claims still waiting are given back
  idle_.wake_all();
}

asio::awaitable<void> JetStreamSource::run() {
  if (index_) index_->start();
  if (members_) members_->start();
  loop_->start();
  if (finals_) finals_->job_ended();  // those that ended before a stop or a crash
  while (!stopping_ || working_ > 0) co_await idle_.wait_for(std::chrono::seconds(1));
  // Every request it started has ended and been handed to the loop: the loop settles them,
  // gives back what it still holds (fetched after the stop) and ends. This blocks the I/O
  // thread for at most a few seconds, once, at the daemon's end.
  loop_->stop();
  if (members_) members_->stop();  // its share goes to the others
}

void JetStreamSource::take(std::vector<jetstream::Delivery> batch) {
  for (const auto& delivery : batch) {
    if (stopping_) {
      // Fetched as the daemon stops: not started, given back when the loop ends.
      continue;
    }
    work(delivery);
  }
}

void JetStreamSource::work(const jetstream::Delivery& delivery) {
  const MessageIdentity id = message_identity(settings_.fleet_namespace, stream(), delivery.stream_sequence);
  spool::OutcomeRecord record;
  record.line = id.line;
  record.request_id = id.request_key;  // until the request says otherwise
  record.job_id = id.job_id;
  record.accepted_at = clock_.wall_now();
  record.status = spool::SubmitStatus::failed;
  const auto action = delivery_action(delivery.delivered, settings_.max_deliver);
  if (action == DeliveryAction::give_up) {
    record.error = spool::OutcomeError{"intake", 0, give_up_message(delivery.delivered, id.job_id)};
    log::warn("JetStream message {}: {}", id.request_key, record.error->message);
    events_.request_finished(spool::SubmitStatus::failed, "intake", std::chrono::nanoseconds(0));
    return settle_now(id, std::move(record), Settlement::Kind::terminate);
  }
  spool::ParseOutcome parsed = delivery.data.size() > settings_.max_request_bytes
                                   ? spool::ParseOutcome(spool::RequestError{
                                         id.line, "", too_large_message(delivery.data.size(), settings_.max_request_bytes)})
                                   : parser_.parse(delivery.data, id.line);
  if (auto* error = std::get_if<spool::RequestError>(&parsed)) {
    record.job_id.clear();  // no job is made for it
    record.error = spool::OutcomeError{"validate", 0, spool::to_string(*error)};
    events_.request_finished(spool::SubmitStatus::failed, "validate", std::chrono::nanoseconds(0));
    return settle_now(id, std::move(record), Settlement::Kind::ack);
  }
  auto& request = std::get<spool::JobRequest>(parsed);
  Ticket ticket;
  ticket.claim_id = id.claim_id;
  ticket.request_id_given = !request.request_id.empty();
  ticket.delivered_before = action == DeliveryAction::read_job_first;
  ticket.accepted_mono = clock_.now();
  if (!ticket.request_id_given) request.request_id = id.request_key;
  record.request_id = request.request_id;
  record.warnings = request.warnings;
  ticket.record = std::move(record);
  ticket.request = std::make_shared<const spool::JobRequest>(std::move(request));
  ++working_;
  if (!index_ || !ticket.request_id_given) return submit(id, std::move(ticket));
  std::string request_id = ticket.record.request_id;
  index_->claim(std::move(request_id), id.job_id,
                [this, id, ticket = std::move(ticket)](std::optional<std::string> holder) mutable {
                  asio::post(executor_, [this, id, ticket = std::move(ticket), holder = std::move(holder)]() mutable {
                    claimed(id, std::move(ticket), std::move(holder));
                  });
                });
}

void JetStreamSource::claimed(const MessageIdentity& id, Ticket ticket, std::optional<std::string> holder) {
  if (!holder) {
    done_working();
    loop_->settle(Settlement{Settlement::Kind::give_back, id.line, {}, {}, {}});
    return;
  }
  // Ours: won now, or by this very message at an earlier delivery.
  if (*holder == id.job_id) return submit(id, std::move(ticket));
  done_working();
  spool::OutcomeRecord record = std::move(ticket.record);
  record.status = spool::SubmitStatus::duplicate;
  record.job_id = std::move(*holder);
  events_.request_finished(spool::SubmitStatus::duplicate, "", std::chrono::nanoseconds(0));
  settle_now(id, std::move(record), Settlement::Kind::ack);
}

void JetStreamSource::submit(const MessageIdentity& id, Ticket ticket) {
  scheduler_.submit(std::move(ticket), [this, id](RequestEnd end) { ended(id, std::move(end)); });
}

void JetStreamSource::done_working() {
  --working_;
  idle_.wake_all();
}

void JetStreamSource::ended(const MessageIdentity& id, RequestEnd end) {
  done_working();
  if (!end.completed) {
    loop_->settle(Settlement{Settlement::Kind::give_back, id.line, {}, {}, {}});
    return;
  }
  // Its journal records are needed no more, unless its job is followed (until its end is out).
  journal_.forget_unfollowed(stream(), id.line);
  std::string line = end.outcome_line.empty() ? spool::outcome_json_line(end.record) : std::move(end.outcome_line);
  loop_->settle(Settlement{Settlement::Kind::ack, id.line, settings_.outcome_subject,
                           message_outcome(line, stream(), id.line), id.request_key});
}

void JetStreamSource::settle_now(const MessageIdentity& id, spool::OutcomeRecord record, Settlement::Kind kind) {
  record.finished_at = clock_.wall_now();
  loop_->settle(Settlement{kind, id.line, settings_.outcome_subject,
                           message_outcome(spool::outcome_json_line(record), stream(), id.line), id.request_key});
}

}  // namespace submitd::submit
