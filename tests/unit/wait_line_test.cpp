// Role: unit tests of the timer-free waiting line (util/wait_line) and the in-flight places
// built on it (submit/fifo_semaphore): who wakes, in what order, with what verdict. An
// io_context run to completion; no sleeping.
#include "util/wait_line.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <string>
#include <vector>

#include "submit/fifo_semaphore.hpp"

namespace submitd {
namespace {

namespace asio = boost::asio;

TEST(WaitLine, WakesTheOldestFirstEachWithItsVerdictAndOnlyFromTheExecutor) {
  asio::io_context io;
  WaitLine line(io.get_executor());
  std::vector<std::string> woke;
  for (const char* name : {"a", "b", "c"}) {
    asio::co_spawn(io, [&, name]() -> asio::awaitable<void> {
      const bool verdict = co_await line.wait();
      woke.push_back(std::string(name) + (verdict ? "+" : "-"));
    }, asio::detached);
  }
  io.poll();  // all three are now in line
  ASSERT_EQ(line.size(), 3u);
  EXPECT_TRUE(line.wake_one(true));
  EXPECT_TRUE(woke.empty());  // resumed from the executor, not inside wake_one
  EXPECT_EQ(line.size(), 2u);
  io.poll();
  EXPECT_EQ(woke, (std::vector<std::string>{"a+"}));
  line.wake_all(false);
  EXPECT_EQ(line.size(), 0u);
  EXPECT_FALSE(line.wake_one(true));  // nobody left
  io.run();
  EXPECT_EQ(woke, (std::vector<std::string>{"a+", "b-", "c-"}));
}

TEST(WaitLine, TimedWaitersAreWokenByWakeAllOrTheirDeadlineNeverByWakeOne) {
  asio::io_context io;
  WaitLine line(io.get_executor());
  std::vector<std::string> woke;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    co_await line.wait_for(std::chrono::hours(1));
    woke.push_back("timed");
  }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    co_await line.wait();
    woke.push_back("in line");
  }, asio::detached);
  io.poll();
  EXPECT_EQ(line.size(), 1u);  // the timed waiter stands beside the line
  EXPECT_TRUE(line.wake_one(true));
  io.poll();
  EXPECT_EQ(woke, (std::vector<std::string>{"in line"}));
  EXPECT_FALSE(line.wake_one(true));  // passes the timed waiter by
  line.wake_all();
  io.poll();
  EXPECT_EQ(woke, (std::vector<std::string>{"in line", "timed"}));

  // A deadline already past: it returns by itself once the executor runs.
  io.restart();  // the polls above ran out of work, which stops the io_context
  bool returned = false;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    co_await line.wait_for(std::chrono::milliseconds(0));
    returned = true;
  }, asio::detached);
  io.run();
  EXPECT_TRUE(returned);
}

TEST(FifoSemaphore, PlacesPassInArrivalOrderAndCloseSendsTheRestAwayEmptyHanded) {
  asio::io_context io;
  submit::FifoSemaphore places(io.get_executor(), 1);
  std::vector<std::string> got;
  auto taker = [&](std::string name) -> asio::awaitable<void> {
    const bool granted = co_await places.acquire();
    got.push_back(name + (granted ? "+" : "-"));
  };
  for (const char* name : {"first", "second", "third", "fourth"}) asio::co_spawn(io, taker(name), asio::detached);
  io.poll();
  EXPECT_EQ(got, (std::vector<std::string>{"first+"}));  // the only place
  EXPECT_EQ(places.waiting(), 3u);
  places.release();  // passes straight to "second": never free in between
  EXPECT_EQ(places.free(), 0u);
  io.poll();
  EXPECT_EQ(got, (std::vector<std::string>{"first+", "second+"}));
  places.close();
  io.run();
  EXPECT_EQ(got, (std::vector<std::string>{"first+", "second+", "third-", "fourth-"}));
  places.release();
  places.release();
  EXPECT_EQ(places.free(), 2u);  // nobody waits: the places are free again
}

}  // namespace
}  // namespace submitd
