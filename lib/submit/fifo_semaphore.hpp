// Role: a first-come-first-served counting semaphore for coroutines on one executor: the
// in-flight places of the submission pipeline. A released place goes straight to the oldest
// waiter, which alone is woken: with thousands of requests waiting, waking them all on every
// release (as wake_all does) would cost more CPU than the work itself.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstddef>

#include "util/wait_line.hpp"

namespace submitd::submit {

class FifoSemaphore {
 public:
  FifoSemaphore(boost::asio::any_io_executor executor, std::size_t places)
      : line_(std::move(executor)), free_(places) {}

  // Takes a place, waiting in line while none is free. False when closed meanwhile (no place).
  boost::asio::awaitable<bool> acquire() {
    if (closed_) co_return false;
    if (free_ > 0 && line_.size() == 0) {
      --free_;
      co_return true;
    }
    co_return co_await line_.wait();
  }

  void release() {
    // The place passes on to the oldest waiter without ever being free.
    if (!line_.wake_one(true)) ++free_;
  }

  // Wakes every waiter without a place (shutdown).
  void close() {
    closed_ = true;
    line_.wake_all(false);
  }

  std::size_t waiting() const { return line_.size(); }
  std::size_t free() const { return free_; }

 private:
  WaitLine line_;
  std::size_t free_;
  bool closed_ = false;
};

}  // namespace submitd::submit
