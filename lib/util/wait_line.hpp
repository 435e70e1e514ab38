// Role: coroutines waiting in line on one executor, woken one at a time (the oldest first) or
// all at once, each with a verdict. A waiter is only its completion handler in a deque and a
// wake posts it: the pool's callers waiting for a connection and requests waiting for an
// in-flight place used a timer each (created, scheduled, cancelled), about 2% of the daemon's
// CPU per job against a fast server (bench/README.md). Single-threaded: no locks.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstddef>
#include <deque>
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

  void wake_all(bool verdict) {
    while (wake_one(verdict)) {
    }
  }

  std::size_t size() const { return parked_.size(); }

 private:
  using Handler = boost::asio::any_completion_handler<void(bool)>;
  boost::asio::any_io_executor executor_;
  std::deque<Handler> parked_;
};

}  // namespace submitd
