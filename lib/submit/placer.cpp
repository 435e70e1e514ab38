// Role: the placement group commit (see placer.hpp).
#include "submit/placer.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <memory>
#include <set>
#include <vector>

#include "util/durable_fs.hpp"

namespace submitd::submit {
namespace asio = boost::asio;
namespace fs = std::filesystem;

Placer::Placer(asio::any_io_executor executor, const spool::SpoolPaths& paths)
    : executor_(std::move(executor)), paths_(paths), thread_([this] { run(); }) {}

Placer::~Placer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

asio::awaitable<spool::PlacedNames> Placer::place(spool::FinishedFileWriter& writer) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, spool::PlacedNames)>(
      [this, &writer](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        bool was_empty;
        {
          std::lock_guard lock(mutex_);
          was_empty = queue_.empty();
          queue_.push_back(Item{&writer, [h](std::exception_ptr e, spool::PlacedNames n) { (*h)(e, std::move(n)); },
                                {}, {}});
        }
        if (was_empty) wake_.notify_one();
      },
      asio::use_awaitable);
}

void Placer::run() {
  for (;;) {
    std::deque<Item> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to place
      batch.swap(queue_);
    }
    place_batch(batch);
    // One hand-over to the I/O thread per batch; the tracked executor keeps its loop alive
    // while the completions are on their way.
    asio::post(asio::prefer(executor_, asio::execution::outstanding_work.tracked),
               [batch = std::move(batch)]() mutable {
                 for (auto& item : batch) item.done(item.error, std::move(item.names));
               });
  }
}

namespace {

// Runs one step for an item not failed yet; an exception fails the item (and only it).
template <typename Item, typename Step>
void attempt(Item& item, Step step) {
  if (item.error) return;
  try {
    step();
  } catch (...) {
    item.error = std::current_exception();
  }
}

}  // namespace

// The outcome files' fsyncs, a few at a time: fsyncs waiting together share the file system's
// journal commits, where one after the other each waits for a commit of its own.
void Placer::sync_in_parallel(std::deque<Item>& batch) {
  constexpr std::size_t kFilesPerThread = 8, kMaxThreads = 4;
  const std::size_t threads = std::min(kMaxThreads, batch.size() / kFilesPerThread);
  auto sync_stripe = [&batch](std::size_t first, std::size_t step) {
    for (std::size_t i = first; i < batch.size(); i += step) {
      attempt(batch[i], [&] { batch[i].writer->sync_outcome(); });
    }
  };
  std::vector<std::thread> helpers;
  for (std::size_t t = 1; t < threads; ++t) helpers.emplace_back(sync_stripe, t, threads);
  sync_stripe(0, std::max<std::size_t>(threads, 1));
  for (auto& h : helpers) h.join();
}

void Placer::place_batch(std::deque<Item>& batch) {
  // 1. Each outcome synced and renamed into place (every file's writeback started first).
  for (auto& item : batch) attempt(item, [&] { item.writer->start_writeback(); });
  sync_in_parallel(batch);
  std::set<fs::path> targets;
  for (auto& item : batch) {
    attempt(item, [&] {
      item.names = item.writer->place_outcome();
      targets.insert(item.names.input.parent_path());
    });
  }
  // 2. Their directories synced once each, before any input leaves active/: then 3. the inputs
  // moved, and 4. both sides synced once more. A failed sync fails the files it was for.
  auto sync_targets = [&](const std::set<fs::path>& dirs) {
    for (const auto& dir : dirs) {
      try {
        fsync_dir(dir);
      } catch (...) {
        for (auto& item : batch) {
          const bool concerned = dir == paths_.active || item.names.input.parent_path() == dir;
          if (!item.error && concerned) item.error = std::current_exception();
        }
      }
    }
  };
  sync_targets(targets);
  std::set<fs::path> moved_into;
  for (auto& item : batch) {
    attempt(item, [&] {
      item.writer->place_input(item.names);
      moved_into.insert(item.names.input.parent_path());
    });
  }
  if (moved_into.empty()) return;
  moved_into.insert(paths_.active);
  sync_targets(moved_into);
}

}  // namespace submitd::submit
