// Role: the journal thread: many concurrent accepts are committed in a few group commits,
// every waiting caller gets its own verdict, queued records are committed before the
// journal closes, and they are there after reopening.
#include "journal/journal.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>

#include "journal_file.hpp"

namespace fs = std::filesystem;
namespace asio = boost::asio;
using namespace submitd::journal;

namespace {

using JournalTest = submitd::journal::testing::JournalFileTest;

TEST_F(JournalTest, ConcurrentAcceptsShareCommitsAndEachGetsItsVerdict) {
  asio::io_context io;
  std::vector<AcceptVerdict::Kind> kinds(2000);
  {
    Journal journal(io.get_executor(), options_);
    for (int i = 0; i < 2000; ++i) {
      asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
        // Every tenth request repeats the requestId of the one before it.
        int key = i % 10 == 9 ? i - 1 : i;
        Accept a{"claim", static_cast<std::uint64_t>(i + 1), "r" + std::to_string(key), true,
                 "job-" + std::to_string(i), 1000};
        kinds[static_cast<std::size_t>(i)] = (co_await journal.accept(a)).kind;
      }, asio::detached);
    }
    io.run();  // returns when every accept has completed
    auto stats = journal.stats();
    EXPECT_EQ(stats.records, 2000u);
    EXPECT_LT(stats.commits, 2000u);  // group commit: fewer transactions than records
    EXPECT_FALSE(stats.stalled);
    std::fprintf(stderr, "2000 accepts in %llu commits\n", static_cast<unsigned long long>(stats.commits));
  }
  for (int i = 0; i < 2000; ++i) {
    EXPECT_EQ(kinds[static_cast<std::size_t>(i)], i % 10 == 9 ? AcceptVerdict::Kind::duplicate : AcceptVerdict::Kind::fresh) << i;
  }
  JournalStore reopened(options_);
  EXPECT_EQ(reopened.request_rows(), 2000u);
  EXPECT_EQ(reopened.request_id_entries(), 1800u);
}

TEST_F(JournalTest, QueuedRecordsAreCommittedBeforeClosing) {
  asio::io_context io;
  {
    Journal journal(io.get_executor(), options_);
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      // A named record: GCC 12 mis-destroys a braced temporary inside a co_await expression.
      Accept a{"c", 1, "c:1", false, "j1", 1};
      co_await journal.accept(a);
      journal.progress("c", 1, Step::configured);
      journal.finish(Finish{"c", 1, "{\"status\":\"submitted\"}\n", 0, std::nullopt, "j1"});
      co_await journal.flush();
    }, asio::detached);
    io.run();
    journal.progress("c", 1, Step::created);  // queued, not awaited, then the journal closes
  }
  JournalStore reopened(options_);
  auto row = reopened.row("c", 1);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->step, Step::finished);
  EXPECT_EQ(row->outcome_line, "{\"status\":\"submitted\"}\n");
}

}  // namespace
