// Role: final records of followed JetStream messages (see message_finals.hpp).
#include "submit/message_finals.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include "submit/message_rules.hpp"
#include "util/log.hpp"

namespace submitd::submit {
namespace asio = boost::asio;

MessageFinals::MessageFinals(asio::any_io_executor executor, journal::Journal& journal, std::string stream,
                             Publish publish)
    : executor_(std::move(executor)), journal_(journal), stream_(std::move(stream)), publish_(std::move(publish)) {}

void MessageFinals::job_ended() {
  wanted_ = true;
  if (running_) return;  // the running pass goes again
  running_ = true;
  asio::co_spawn(executor_, pass(), [self = shared_from_this()](std::exception_ptr e) {
    self->running_ = false;
    log::escaped(e, "publishing final records");
    // Asked for after the pass ended (and before this ran): another pass.
    if (self->wanted_) self->job_ended();
  });
}

asio::awaitable<void> MessageFinals::pass() {
  while (wanted_) {
    wanted_ = false;
    if (handed_.size() >= kMaxHanded) {
      backlog_ = true;
      break;
    }
    // The ends just recorded must be committed before they are read back.
    co_await journal_.flush();
    const std::size_t limit = handed_.size() + kPage;
    auto ended = journal_.ended_messages(stream_, limit);
    backlog_ = ended.size() >= limit;
    if (backlog_) wanted_ = true;
    for (auto& message : ended) {
      if (handed_.size() >= kMaxHanded) break;
      if (handed_.insert(message.line).second) hand_over(std::move(message));
    }
  }
}

void MessageFinals::hand_over(journal::EndedMessage message) {
  const std::uint64_t seq = message.line;
  if (message.outcome_line.empty()) {
    // Cannot happen while the request row is kept with its followed job; said, not looped on.
    log::warn("JetStream message {}:{} (job {}) ended, but its outcome record is gone from the journal: no "
              "final record is published for it",
              stream_, seq, message.job_id);
    journal_.forget_message(stream_, seq);
    handed_.erase(seq);
    return;
  }
  std::weak_ptr<MessageFinals> weak = weak_from_this();
  publish_(seq, final_record(message.outcome_line, message.final_json, stream_, seq), final_message_id(stream_, seq),
           [weak, executor = executor_, seq] {
             asio::post(executor, [weak, seq] {
               if (auto self = weak.lock()) self->published(seq);
             });
           });
}

void MessageFinals::published(std::uint64_t seq) {
  journal_.forget_message(stream_, seq);
  handed_.erase(seq);
  if (backlog_) job_ended();
}

}  // namespace submitd::submit
