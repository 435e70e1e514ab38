// Role: a first-come-first-served counting semaphore for coroutines on one executor: the
// in-flight places of the submission pipeline. A released place goes straight to the oldest
// waiter, which alone is woken: with thousands of requests waiting, waking them all on every
// release (as Wakeup::notify_all does) would cost more CPU than the work itself.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstddef>
#include <list>

namespace submitd::submit {

class FifoSemaphore {
 public:
  FifoSemaphore(boost::asio::any_io_executor executor, std::size_t places)
      : executor_(std::move(executor)), free_(places) {}

  // Takes a place, waiting in line while none is free. False when closed meanwhile (no place).
  boost::asio::awaitable<bool> acquire() {
    if (closed_) co_return false;
    if (free_ > 0 && waiters_.empty()) {
      --free_;
      co_return true;
    }
    Waiter me{boost::asio::steady_timer(executor_, boost::asio::steady_timer::time_point::max())};
    auto it = waiters_.insert(waiters_.end(), &me);
    co_await me.timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (!me.granted) waiters_.erase(it);  // woken by close(): still in the line
    co_return me.granted;
  }

  void release() {
    if (!waiters_.empty()) {
      Waiter* next = waiters_.front();
      waiters_.pop_front();
      next->granted = true;  // the place passes on without ever being free
      next->timer.cancel();
      return;
    }
    ++free_;
  }

  // Wakes every waiter without a place (shutdown).
  void close() {
    closed_ = true;
    for (Waiter* w : waiters_) w->timer.cancel();
  }

  std::size_t waiting() const { return waiters_.size(); }
  std::size_t free() const { return free_; }

 private:
  struct Waiter {
    boost::asio::steady_timer timer;
    bool granted = false;
  };
  boost::asio::any_io_executor executor_;
  std::size_t free_;
  std::list<Waiter*> waiters_;
  bool closed_ = false;
};

}  // namespace submitd::submit
