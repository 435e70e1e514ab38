// Role: the one waiting primitive of the single-threaded daemon loop. Coroutines wait in line
// on one executor and are woken one at a time (the oldest first) or all at once, each with a
// verdict: the pool's callers waiting for a connection, requests waiting for an in-flight
// place. A waiter in line is only its completion handler in a deque, and a wake posts it (no
// timer per wait). Beside the line, wait_for() waits with a deadline ("work changed, or look
// again in a while"); those waiters are woken only by wake_all(). Single-threaded: no locks.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <list>
#include <utility>

namespace submitd {

class WaitLine {
 public:
  explicit WaitLine(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}
  WaitLine(const WaitLine&) = delete;
  WaitLine& operator=(const WaitLine&) = delete;

  // Waits at the end of the line; returns the verdict it is woken with. (A line destroyed
  // with waiters in it destroys their coroutines unresumed: owners wake_all first.)
  boost::asio::awaitable<bool> wait() {
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(bool)>(
        [this](auto handler) { parked_.emplace_back(std::move(handler)); }, boost::asio::use_awaitable);
  }

  // Wakes the oldest waiter with `verdict` (it resumes from the executor, not inside this
  // call). False when nobody waits.
  bool wake_one(bool verdict) {
    if (parked_.empty()) return false;
    Handler next = std::move(parked_.front());
    parked_.pop_front();
    boost::asio::post(executor_, [next = std::move(next), verdict]() mutable { std::move(next)(verdict); });
    return true;
  }

  // Returns after wake_all() or once `timeout` has passed, whichever comes first. A timed
  // waiter stands beside the line: wake_one() passes it by, since a place handed on must go
  // to a waiter that takes it.
  boost::asio::awaitable<void> wait_for(std::chrono::steady_clock::duration timeout) {
    boost::asio::steady_timer timer(executor_, timeout);
    auto it = timed_.insert(timed_.end(), &timer);
    co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    timed_.erase(it);
  }

  // Wakes everyone: those in line with `verdict`, and the timed waiters.
  void wake_all(bool verdict = false) {
    while (wake_one(verdict)) {
    }
    for (auto* timer : timed_) timer->cancel();
  }

  std::size_t size() const { return parked_.size(); }

 private:
  using Handler = boost::asio::any_completion_handler<void(bool)>;
  boost::asio::any_io_executor executor_;
  std::deque<Handler> parked_;
  std::list<boost::asio::steady_timer*> timed_;  // each a waiter's own timer, on its frame
};

}  // namespace submitd
