// Role: the journal thread and its group commit (see journal.hpp).
#include "journal/journal.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>

#include "util/log.hpp"

namespace submitd::journal {
namespace asio = boost::asio;

namespace {
// Bounds one transaction, so a flood of records still gets committed in steps.
constexpr std::size_t kMaxBatch = 8192;
}  // namespace

Journal::Journal(asio::any_io_executor executor, const JournalStore::Options& options)
    : executor_(std::move(executor)),
      store_(std::make_unique<JournalStore>(options)),
      options_(options),
      window_(options.group_commit_window) {
  created_ = store_->created();
  thread_ = std::thread([this] { run(); });
}

Journal::~Journal() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  log::info("journal: {} records in {} commits", stats_.records, stats_.commits);
}

void Journal::enqueue(Record r) {
  bool was_empty;
  {
    std::lock_guard lock(mutex_);
    was_empty = queue_.empty();
    queue_.push_back(std::move(r));
  }
  // The journal thread only sleeps on an empty queue: waking it once per batch is enough,
  // and saves a futex call (and a context switch) per record.
  if (was_empty) wake_.notify_one();
}

asio::awaitable<AcceptVerdict> Journal::accept(Accept a) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(AcceptVerdict)>(
      [this, a = std::move(a)](auto handler) mutable {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        // Runs on the I/O executor (the journal thread posts each batch's completions there).
        enqueue(Record{std::move(a), [h](AcceptVerdict v) { (*h)(std::move(v)); }});
      },
      asio::use_awaitable);
}

asio::awaitable<void> Journal::flush() {
  return asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [this](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        enqueue(Record{Flush{}, [h](AcceptVerdict) { (*h)(); }});
      },
      asio::use_awaitable);
}

void Journal::progress(std::string claim_id, std::uint64_t line, Step step) {
  enqueue(Record{Progress{std::move(claim_id), line, step}, {}});
}
void Journal::finish(Finish f) { enqueue(Record{std::move(f), {}}); }
void Journal::forget_claim(std::string claim_id) { enqueue(Record{ForgetClaim{std::move(claim_id)}, {}}); }
void Journal::forget_claims_except(std::vector<std::string> keep) {
  enqueue(Record{ForgetExcept{std::move(keep)}, {}});
}
void Journal::prune_request_ids(std::int64_t cutoff_ms) { enqueue(Record{Prune{cutoff_ms}, {}}); }
void Journal::forget_message(std::string claim_id, std::uint64_t line) {
  enqueue(Record{ForgetMessage{std::move(claim_id), line, false}, {}});
}
void Journal::forget_unfollowed(std::string claim_id, std::optional<std::uint64_t> line) {
  enqueue(Record{ForgetMessage{std::move(claim_id), line, true}, {}});
}

void Journal::set_final(std::string job_id, std::string final_json, bool downloads_pending) {
  const auto kind = downloads_pending ? SetFinal::Kind::downloading : SetFinal::Kind::ended;
  enqueue(Record{SetFinal{std::move(job_id), std::move(final_json), kind}, {}});
}

void Journal::finish_downloads(std::string job_id, std::string final_json) {
  enqueue(Record{SetFinal{std::move(job_id), std::move(final_json), SetFinal::Kind::downloaded}, {}});
}

JournalStore& Journal::reader() {
  if (!reader_) reader_ = std::make_unique<JournalStore>(options_);
  return *reader_;
}

std::optional<JournalStore::Lookup> Journal::lookup(const std::string& request_id) {
  return reader().lookup(request_id);
}

std::vector<FollowedRow> Journal::followed_of_claim(const std::string& claim_id) {
  return reader().followed_of_claim(claim_id);
}

std::vector<std::string> Journal::job_ids_of_claim(const std::string& claim_id, int status) {
  return reader().job_ids_of_claim(claim_id, status);
}

std::vector<FollowedRow> Journal::unfinished_followed(std::size_t limit) {
  return reader().unfinished_followed(limit);
}

std::vector<FollowedRow> Journal::pending_downloads(std::size_t limit) { return reader().pending_downloads(limit); }

std::vector<EndedMessage> Journal::ended_messages(const std::string& claim_id, std::size_t limit) {
  return reader().ended_messages(claim_id, limit);
}

void Journal::on_stall_changed(std::function<void(bool stalled)> observer) {
  std::lock_guard lock(mutex_);
  stall_observer_ = std::move(observer);
}

void Journal::stall_changed(bool stalled) {
  std::function<void(bool)> observer;
  {
    std::lock_guard lock(mutex_);
    observer = stall_observer_;
  }
  if (observer) observer(stalled);
}

JournalStats Journal::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Journal::apply(std::deque<Record>& batch, std::vector<AcceptVerdict>& verdicts) {
  // A request's progress is written before its finish: when both are in this batch (one
  // transaction), the finish alone says it all. Most are: the run takes less than a window.
  using RowKey = std::pair<std::string_view, std::uint64_t>;  // claim id, line
  std::vector<RowKey> finished;
  for (const auto& r : batch) {
    if (auto* f = std::get_if<Finish>(&r.what)) finished.emplace_back(f->claim_id, f->line);
  }
  std::sort(finished.begin(), finished.end());
  store_->begin();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto& what = batch[i].what;
    if (auto* a = std::get_if<Accept>(&what)) {
      verdicts[i] = store_->accept(*a);
    } else if (auto* p = std::get_if<Progress>(&what)) {
      if (std::binary_search(finished.begin(), finished.end(), RowKey(p->claim_id, p->line))) continue;
      store_->progress(p->claim_id, p->line, p->step);
    } else if (auto* f = std::get_if<Finish>(&what)) {
      store_->finish(*f);
    } else if (auto* c = std::get_if<ForgetClaim>(&what)) {
      store_->forget_claim(c->claim_id);
    } else if (auto* e = std::get_if<ForgetExcept>(&what)) {
      std::size_t n = store_->forget_claims_except(e->keep);
      if (n > 0) log::info("journal: dropped the records of {} files no longer in active/", n);
    } else if (auto* m = std::get_if<ForgetMessage>(&what)) {
      if (m->only_unfollowed) store_->forget_unfollowed(m->claim_id, m->line);
      else store_->forget_line(m->claim_id, *m->line);
    } else if (auto* sf = std::get_if<SetFinal>(&what)) {
      if (sf->kind == SetFinal::Kind::downloaded) store_->finish_downloads(sf->job_id, sf->final_json);
      else store_->set_final(sf->job_id, sf->final_json, sf->kind == SetFinal::Kind::downloading);
    } else if (auto* pr = std::get_if<Prune>(&what)) {
      std::size_t n = store_->prune_request_ids(pr->cutoff_ms);
      if (n > 0) log::info("journal: {} requestIds passed their retention and were forgotten", n);
    }
  }
  store_->commit();
}

void Journal::run() {
  std::chrono::milliseconds pause{100};
  auto last_commit = std::chrono::steady_clock::now() - window_;
  for (;;) {
    std::deque<Record> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is committed
      // Let the batch fill for the rest of the window: one fsync then serves all of it.
      auto open_until = last_commit + window_;
      if (!stopping_ && std::chrono::steady_clock::now() < open_until) {
        wake_.wait_until(lock, open_until, [&] { return stopping_ || queue_.size() >= kMaxBatch; });
      }
      // Everything that queued up while the last commit was on disk goes in this one.
      std::size_t n = std::min(queue_.size(), kMaxBatch);
      std::move(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n), std::back_inserter(batch));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    std::vector<AcceptVerdict> verdicts(batch.size());
    for (;;) {
      try {
        apply(batch, verdicts);
        break;
      } catch (const JournalError& e) {
        try {
          store_->rollback();
        } catch (const JournalError&) {
        }
        bool first;
        {
          std::lock_guard lock(mutex_);
          first = !stats_.stalled;
          stats_.stalled = true;
          stats_.last_error = e.what();
          stats_.disk_full = e.disk_full;
          if (stopping_ && !first) {
            // Shutting down and the disk still refuses: leave it to the next start (the
            // requests are still in active/ and will be accepted again).
            return;
          }
        }
        if (first) {
          log::error("journal cannot commit ({}); accepted work waits and is retried", e.what());
          stall_changed(true);
        }
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, pause, [&] { return stopping_; });
        pause = std::min(pause * 2, std::chrono::milliseconds(10000));
      }
    }
    pause = std::chrono::milliseconds(100);
    last_commit = std::chrono::steady_clock::now();
    bool recovered = false;
    {
      std::lock_guard lock(mutex_);
      if (stats_.stalled) log::info("journal commits again");
      recovered = stats_.stalled;
      stats_.stalled = false;
      stats_.last_error.clear();
      stats_.disk_full = false;
      ++stats_.commits;
      stats_.records += batch.size();
    }
    if (recovered) stall_changed(false);
    // One hand-over to the I/O thread per batch, not one per record. The tracked executor
    // keeps the I/O loop alive while the completions are on their way.
    std::vector<std::pair<std::function<void(AcceptVerdict)>, AcceptVerdict>> done;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].on_durable) done.emplace_back(std::move(batch[i].on_durable), std::move(verdicts[i]));
    }
    if (!done.empty()) {
      asio::post(asio::prefer(executor_, asio::execution::outstanding_work.tracked),
                 [done = std::move(done)]() mutable {
                   for (auto& [complete, verdict] : done) complete(std::move(verdict));
                 });
    }
  }
}

}  // namespace submitd::journal
