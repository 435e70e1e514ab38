// Role: the pull consumer's threads (see message_loop.hpp).
#include "jetstream/message_loop.hpp"

#include <pthread.h>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "util/durable_fs.hpp"
#include "util/log.hpp"

namespace submitd::jetstream {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kFetchWait{500};   // a stop is noticed within this
constexpr std::chrono::milliseconds kSettleTick{200};  // in-progress marks are checked this often
constexpr std::chrono::seconds kPendingEvery{5};
// A settlement that fails this many rounds (about a minute) is dropped: its message comes
// back after the ack wait and is settled again then (the outcome once more under its id).
constexpr int kSettleAttempts = 300;

}  // namespace

MessageLoop::MessageLoop(LoopSettings settings, Deliveries deliveries, LoopEvents& events)
    : settings_(std::move(settings)), deliveries_(std::move(deliveries)), events_(events) {}

MessageLoop::~MessageLoop() { stop(); }

void MessageLoop::start() {
  // Named, so a per-thread CPU profile (top -H, /proc/PID/task) tells them apart.
  fetcher_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "js-fetch");
    fetch_thread();
  });
  settler_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "js-settle");
    settle_thread();
  });
}

void MessageLoop::settle(Settlement s) {
  {
    std::lock_guard lock(mutex_);
    outbox_.push_back(std::move(s));
  }
  changed_.notify_all();
}

void MessageLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (fetcher_.joinable()) fetcher_.join();
  if (settler_.joinable()) settler_.join();
}

LoopStatus MessageLoop::status() const {
  std::lock_guard lock(mutex_);
  return {connected_, last_error_, held_.size(), pending_, ack_pending_};
}

void MessageLoop::note_error(const std::exception& e, std::string_view doing) {
  bool was_connected = false;
  {
    std::lock_guard lock(mutex_);
    // Said once per change: a cluster that is away for an hour must not fill the log.
    if (last_error_ != e.what()) log::warn("JetStream intake: {}: {}", doing, e.what());
    last_error_ = e.what();
    was_connected = connected_;
    connected_ = false;
  }
  if (was_connected) events_.connected(false);
}

void MessageLoop::note_success() {
  bool was_connected = true;
  {
    std::lock_guard lock(mutex_);
    if (!last_error_.empty()) log::info("JetStream intake: working again");
    last_error_.clear();
    was_connected = connected_;
    connected_ = true;
  }
  if (!was_connected) events_.connected(true);
  changed_.notify_all();
}

bool MessageLoop::connect() {
  auto pause = std::chrono::milliseconds(500);
  for (;;) {
    try {
      auto client = std::make_unique<Client>(settings_.connect);
      check_stream(*client);
      auto consumer = std::make_unique<PullConsumer>(*client, settings_.stream, settings_.consumer, settings_.subject);
      const auto ack_wait = check_consumer(*client);
      {
        std::lock_guard lock(mutex_);
        // The consumer's own ack wait decides when a held message goes to another daemon:
        // the in-progress marks follow it (the settle thread reads it only after client_ is set).
        if (ack_wait.count() > 0) {
          settings_.ack_wait = std::max<std::chrono::seconds>(std::chrono::seconds(1),
                                                              std::chrono::duration_cast<std::chrono::seconds>(ack_wait));
        }
        client_ = std::move(client);
        consumer_ = std::move(consumer);
      }
      log::info("JetStream intake: bound to consumer {} of stream {}", settings_.consumer, settings_.stream);
      note_success();
      return true;
    } catch (const std::exception& e) {
      note_error(e, "connecting");
    }
    std::unique_lock lock(mutex_);
    if (changed_.wait_for(lock, pause, [this] { return stopping_; })) return false;
    pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::seconds(30));
  }
}

std::string stream_record_text(const std::string& job_namespace, const std::string& stream, std::int64_t created) {
  return job_namespace + " " + stream + " " + std::to_string(created) + "\n";
}

std::optional<std::string> stream_record_problem(const std::string& recorded, const std::string& job_namespace,
                                                 const std::string& stream, std::int64_t created) {
  std::istringstream in(recorded);
  std::string ns, name;
  std::int64_t was = 0;
  if (!(in >> ns >> name >> was) || ns != job_namespace || name != stream || was == created) return std::nullopt;
  return fmt::format(
      "stream {} was made anew (this daemon worked the one made at {} ns, this one was made at {} ns): its "
      "messages are numbered from 1 again, so under namespace {} they would get the jobIds of the old stream's "
      "messages. Not working it: give the fleet a new intake.jetstream.namespace (every daemon), or bring the "
      "old stream back",
      stream, was, created, job_namespace);
}

std::optional<std::string> consumer_problem(const std::string& consumer, std::int64_t consumer_max_deliver,
                                            std::uint64_t max_deliver) {
  if (consumer_max_deliver <= 0 || static_cast<std::uint64_t>(consumer_max_deliver) >= max_deliver) return std::nullopt;
  return fmt::format(
      "consumer {} delivers a message at most {} times, fewer than intake.jetstream.max_deliver ({}): a message "
      "that kills daemons would stop being delivered before a daemon ends it, and stay unacked. Not working it: "
      "set intake.jetstream.max_deliver = {} in every daemon, or make the consumer anew with {}",
      consumer, consumer_max_deliver, max_deliver, consumer_max_deliver, max_deliver);
}

std::chrono::milliseconds MessageLoop::check_consumer(Client& client) {
  const auto seen = client.consumer_counts(settings_.stream, settings_.consumer);
  if (auto problem = consumer_problem(settings_.consumer, seen.max_deliver, settings_.max_deliver)) {
    throw JetStreamError(*problem);
  }
  if (seen.ack_wait.count() > 0 && seen.ack_wait != settings_.ack_wait) {
    log::warn("JetStream intake: consumer {} has an ack wait of {} ms, intake.jetstream.ack_wait_s says {} s: the "
              "consumer's is the one that counts (in-progress marks follow it)",
              settings_.consumer, seen.ack_wait.count(), settings_.ack_wait.count());
  }
  return seen.ack_wait;
}

void MessageLoop::check_stream(Client& client) {
  if (settings_.stream_record.empty()) return;
  const std::int64_t created = client.stream_created(settings_.stream);
  std::string recorded;
  if (std::ifstream in(settings_.stream_record); in) recorded.assign(std::istreambuf_iterator<char>(in), {});
  if (auto problem = stream_record_problem(recorded, settings_.job_namespace, settings_.stream, created)) {
    throw JetStreamError(*problem);
  }
  const std::string text = stream_record_text(settings_.job_namespace, settings_.stream, created);
  if (text == recorded) return;
  try {
    write_file_durably(settings_.stream_record, text);
  } catch (const std::exception& e) {
    throw JetStreamError(fmt::format("cannot record the stream worked in {}: {}", settings_.stream_record.string(),
                                     e.what()));
  }
}

void MessageLoop::fetch_thread() {
  if (!connect()) return;
  for (;;) {
    std::size_t size = 0;
    {
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, kFetchWait, [this] { return stopping_ || held_.size() < settings_.capacity; });
      if (stopping_) return;
      size = pull_size(static_cast<std::size_t>(settings_.batch), settings_.capacity, held_.size());
    }
    if (size == 0) continue;
    std::vector<Delivery> got;
    try {
      got = consumer_->fetch(static_cast<int>(size), kFetchWait);
      note_success();
    } catch (const std::exception& e) {
      note_error(e, "fetching");
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
      continue;
    }
    if (got.empty()) continue;
    std::uint64_t redelivered = 0;
    std::vector<Delivery> fresh;
    {
      std::lock_guard lock(mutex_);
      const auto next_progress = Clock::now() + settings_.ack_wait / 3;
      for (auto& d : got) {
        if (d.delivered > 1) ++redelivered;
        auto [it, inserted] = held_.try_emplace(d.stream_sequence, Held{d, next_progress});
        // Still worked here (its in-progress marks were lost): the newer handle is the one
        // to ack, and the work goes on once.
        if (!inserted) it->second.delivery = std::move(d);
        else fresh.push_back(std::move(d));
      }
    }
    events_.messages("fetched", got.size());
    if (redelivered > 0) events_.messages("redelivered", redelivered);
    if (!fresh.empty()) deliveries_(std::move(fresh));
  }
}

void MessageLoop::settle_thread() {
  for (;;) {
    std::deque<Settlement> batch;
    bool last_round = false;
    {
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, kSettleTick, [this] { return stopping_ || (!outbox_.empty() && client_); });
      if (!client_) {
        if (stopping_) return;  // never connected: nothing is held
        continue;
      }
      batch.swap(outbox_);
      last_round = stopping_;
    }
    const bool all_settled = settle_batch(batch);
    mark_in_progress();
    read_pending(Clock::now());
    if (!all_settled || last_round) {
      // Trouble: the next round waits a tick (the failed ones are tried again), and a stop
      // gets a few rounds to settle what it can.
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, kSettleTick, [this, last_round] { return stopping_ && !last_round; });
      if (last_round && !outbox_.empty() && ++final_rounds_ < 5) continue;
    }
    if (!last_round) continue;
    // What is still held is given back, to be delivered again at once (a daemon that
    // restarts later, or another one, takes it).
    std::map<std::uint64_t, Held> rest;
    {
      std::lock_guard lock(mutex_);
      rest.swap(held_);
    }
    std::uint64_t returned = 0;
    for (auto& [seq, held] : rest) {
      try {
        consumer_->nak(held.delivery);
        ++returned;
      } catch (const std::exception& e) {
        note_error(e, "giving a message back");  // it comes back after the ack wait instead
      }
    }
    if (returned > 0) events_.messages("returned", returned);
    return;
  }
}

bool MessageLoop::settle_batch(std::deque<Settlement>& batch) {
  if (batch.empty()) return true;
  std::vector<Client::Outgoing> outgoing;
  for (const auto& s : batch) {
    if (s.kind != Settlement::Kind::give_back) outgoing.push_back({s.outcome_subject, s.outcome, s.msg_id});
  }
  std::vector<bool> stored;
  if (!outgoing.empty()) stored = client_->publish_all(outgoing);
  std::deque<Settlement> again;
  std::uint64_t acked = 0, terminated = 0, returned = 0, unstored = 0;
  std::size_t next_stored = 0;
  for (auto& s : batch) {
    const bool publishes = s.kind != Settlement::Kind::give_back;
    if (publishes && !stored[next_stored++]) {
      ++unstored;
      again.push_back(std::move(s));
      continue;
    }
    if (s.kind == Settlement::Kind::publish) {
      if (s.published) s.published();
      continue;
    }
    Delivery delivery;
    {
      std::lock_guard lock(mutex_);
      auto it = held_.find(s.stream_sequence);
      if (it == held_.end()) continue;
      delivery = it->second.delivery;
    }
    try {
      switch (s.kind) {
        case Settlement::Kind::ack: consumer_->ack_sync(delivery); ++acked; break;
        case Settlement::Kind::terminate: consumer_->terminate(delivery); ++terminated; break;
        case Settlement::Kind::give_back: consumer_->nak(delivery); ++returned; break;
        case Settlement::Kind::publish: break;  // handled above
      }
    } catch (const std::exception& e) {
      note_error(e, "acking");
      again.push_back(std::move(s));
      continue;
    }
    std::lock_guard lock(mutex_);
    held_.erase(s.stream_sequence);
  }
  if (unstored > 0) {
    note_error(JetStreamError(std::to_string(unstored) + " outcome(s) not acknowledged by the stream; sent again"),
               "publishing outcomes");
  }
  if (acked > 0) events_.messages("acked", acked);
  if (terminated > 0) events_.messages("terminated", terminated);
  if (returned > 0) events_.messages("returned", returned);
  if (acked + terminated + returned > 0) changed_.notify_all();  // room for the fetch thread
  std::erase_if(again, [this](Settlement& s) {
    if (s.kind == Settlement::Kind::publish || ++s.attempts < kSettleAttempts) return false;
    log::warn("JetStream intake: message {} could not be settled; it is delivered again after the ack wait",
              s.stream_sequence);
    std::lock_guard lock(mutex_);
    held_.erase(s.stream_sequence);
    return true;
  });
  if (again.empty()) return true;
  std::lock_guard lock(mutex_);
  // Tried again on the next round; the held message keeps its in-progress marks meanwhile.
  for (auto it = again.rbegin(); it != again.rend(); ++it) outbox_.push_front(std::move(*it));
  return false;
}

void MessageLoop::mark_in_progress() {
  const auto now = Clock::now();
  std::vector<Delivery> due;
  {
    std::lock_guard lock(mutex_);
    for (auto& [seq, held] : held_) {
      if (held.next_progress > now) continue;
      due.push_back(held.delivery);
      held.next_progress = now + settings_.ack_wait / 3;
    }
  }
  for (const auto& d : due) {
    try {
      consumer_->in_progress(d);
    } catch (const std::exception& e) {
      note_error(e, "marking messages in progress");
      return;
    }
  }
}

void MessageLoop::read_pending(Clock::time_point now) {
  if (now < next_pending_read_) return;
  next_pending_read_ = now + kPendingEvery;
  try {
    const auto counts = client_->consumer_counts(settings_.stream, settings_.consumer);
    {
      std::lock_guard lock(mutex_);
      pending_ = counts.pending;
      ack_pending_ = counts.ack_pending;
    }
    events_.pending(counts.pending, counts.ack_pending);
  } catch (const std::exception& e) {
    note_error(e, "reading the consumer");
  }
}

}  // namespace submitd::jetstream
