// Role: the one waiting primitive of the single-threaded daemon loop: coroutines park on a
// Wakeup until someone calls notify_all() (work finished, a slot freed, a file arrived) or a
// deadline passes. Parked coroutines are timers set to "never" that notify_all cancels.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <list>

namespace submitd::submit {

class Wakeup {
 public:
  explicit Wakeup(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}

  // Returns after notify_all() or after `timeout`, whichever comes first.
  boost::asio::awaitable<void> wait(
      std::chrono::steady_clock::duration timeout = std::chrono::hours(24 * 365)) {
    boost::asio::steady_timer timer(executor_, timeout);
    auto it = parked_.insert(parked_.end(), &timer);
    co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    parked_.erase(it);
  }

  void notify_all() {
    for (auto* t : parked_) t->cancel();
  }

 private:
  boost::asio::any_io_executor executor_;
  std::list<boost::asio::steady_timer*> parked_;
};

}  // namespace submitd::submit
