// Role: job following for JetStream messages. When a followed message's job ends (the
// follower records its end, and downloads its results, in the journal), its outcome record
// goes out again with "final" (message_rules' final_record, under final_message_id), and once
// the stream has it the message's records leave the journal. Passes are coalesced: a pass
// reads the ended messages not yet handed over, hands them to the message loop and goes
// again if more ended meanwhile. The first pass at start publishes what ended before a stop
// or a crash (a record published twice within the outcome stream's de-dup window is kept
// once). At most kMaxHanded records wait for the stream at a time: an outcome stream that is
// away costs bounded memory; the journal keeps the rest.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "journal/journal.hpp"

namespace submitd::submit {

class MessageFinals : public std::enable_shared_from_this<MessageFinals> {
 public:
  static constexpr std::size_t kPage = 512;
  static constexpr std::size_t kMaxHanded = 4096;
  // Hands one record to the loop; `published` is called (on any thread) once the stream has it.
  using Publish = std::function<void(std::uint64_t seq, std::string record, std::string msg_id,
                                     std::function<void()> published)>;

  MessageFinals(boost::asio::any_io_executor executor, journal::Journal& journal, std::string stream,
                Publish publish);

  // A followed job of the stream ended (or the daemon started): its final record goes out soon.
  void job_ended();
  // Final records handed over and not yet confirmed by the stream.
  std::size_t publishing() const { return handed_.size(); }

 private:
  boost::asio::awaitable<void> pass();
  void hand_over(journal::EndedMessage message);
  void published(std::uint64_t seq);  // on the executor

  boost::asio::any_io_executor executor_;
  journal::Journal& journal_;
  std::string stream_;
  Publish publish_;
  bool wanted_ = false, running_ = false;
  bool backlog_ = false;  // the last pass left some for later: each confirmation asks again
  std::set<std::uint64_t> handed_;
};

}  // namespace submitd::submit
