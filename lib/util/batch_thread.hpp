// Role: a thread that handles work queued from the I/O thread in batches, for group commits:
// whatever was queued while one batch was being handled forms the next batch, so there is no
// timer to tune and a lone item waits for nothing. Each item's completion runs on the I/O
// executor after its batch.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace submitd {

// Item: movable, with `void complete()` (called on the executor once its batch is handled).
template <typename Item>
class BatchThread {
 public:
  using Handler = std::function<void(std::deque<Item>& batch)>;  // runs on the batch thread

  BatchThread(boost::asio::any_io_executor executor, Handler handle)
      : executor_(std::move(executor)), handle_(std::move(handle)), thread_([this] { run(); }) {}

  // Handles what is queued, then stops the thread.
  ~BatchThread() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  BatchThread(const BatchThread&) = delete;
  BatchThread& operator=(const BatchThread&) = delete;

  void push(Item item) {
    bool was_empty;
    {
      std::lock_guard lock(mutex_);
      was_empty = queue_.empty();
      queue_.push_back(std::move(item));
    }
    if (was_empty) wake_.notify_one();
  }

 private:
  void run() {
    for (;;) {
      std::deque<Item> batch;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left
        batch.swap(queue_);
      }
      handle_(batch);
      // One hand-over to the I/O thread per batch; the tracked executor keeps its loop alive
      // while the completions are on their way.
      boost::asio::post(boost::asio::prefer(executor_, boost::asio::execution::outstanding_work.tracked),
                        [batch = std::move(batch)]() mutable {
                          for (auto& item : batch) item.complete();
                        });
    }
  }

  boost::asio::any_io_executor executor_;
  Handler handle_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once everything it uses exists
};

// Runs one step of a batch for an item that has not failed yet (Item has `std::exception_ptr
// error`); an exception fails that item, and only it.
template <typename Item, typename Step>
void try_step(Item& item, Step step) {
  if (item.error) return;
  try {
    step();
  } catch (...) {
    item.error = std::current_exception();
  }
}

// Calls step(i) for every i below `count`, on up to `max_threads` threads (this one included)
// with at least `per_thread` items each. For fsyncs: fsyncs waiting together share the file
// system's journal commits, where one after the other each waits for a commit of its own.
inline void for_each_striped(std::size_t count, std::size_t per_thread, std::size_t max_threads,
                             const std::function<void(std::size_t)>& step) {
  const std::size_t threads = std::max<std::size_t>(1, std::min(max_threads, count / per_thread));
  auto stripe = [&](std::size_t first) {
    for (std::size_t i = first; i < count; i += threads) step(i);
  };
  std::vector<std::thread> helpers;
  for (std::size_t t = 1; t < threads; ++t) helpers.emplace_back(stripe, t);
  stripe(0);
  for (auto& h : helpers) h.join();
}

}  // namespace submitd
