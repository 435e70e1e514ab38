// Role: the pieces of the group commits, without the daemon: a FileDraft's steps (nothing at
// the final path before install, the temp gone whichever way it ends), for_each_striped
// visiting every index once, try_step failing only its item, and BatchThread forming a batch
// of whatever was queued while the previous one was handled, completing each item on the
// I/O executor.
#include "util/batch_thread.hpp"
#include "util/durable_fs.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using submitd::BatchThread;
using submitd::FileDraft;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("batch-commit-" + submitd::random_hex(6));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::size_t entries() const { return static_cast<std::size_t>(std::distance(fs::directory_iterator(path), {})); }
};

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(FileDraft, NothingIsAtTheFinalPathUntilInstalled) {
  TempDir dir;
  const fs::path target = dir.path / "posted.jsonl";
  FileDraft draft(target, "{\"templateId\":\"a\"}\n");
  EXPECT_FALSE(fs::exists(target));
  EXPECT_EQ(dir.entries(), 1u);  // the hidden temp
  draft.sync();
  EXPECT_FALSE(fs::exists(target));
  draft.install();
  EXPECT_EQ(read_all(target), "{\"templateId\":\"a\"}\n");
  EXPECT_EQ(dir.entries(), 1u);  // the temp became the file
}

TEST(FileDraft, ADraftNotInstalledLeavesNothingBehind) {
  TempDir dir;
  {
    FileDraft draft(dir.path / "a.jsonl", "x\n");
    FileDraft moved(std::move(draft));  // the moved-from draft owns nothing
    moved.sync();
  }
  EXPECT_EQ(dir.entries(), 0u);
}

TEST(FileDraft, AFailedStepNamesTheFileAndLeavesNoTemp) {
  TempDir dir;
  EXPECT_THROW(FileDraft(dir.path / "missing" / "a.jsonl", "x\n"), std::system_error);
  FileDraft draft(dir.path / "b.jsonl", "x\n");
  fs::create_directories(dir.path / "b.jsonl" / "taken");  // rename(2) cannot replace a non-empty directory
  try {
    draft.install();
    ADD_FAILURE() << "install over a non-empty directory succeeded";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("b.jsonl"), std::string::npos) << e.what();
  }
  fs::remove_all(dir.path / "b.jsonl");
  EXPECT_EQ(dir.entries(), 1u);  // the temp, until the draft goes
}

TEST(WriteFileDurably, ReplacesTheFileWhole) {
  TempDir dir;
  submitd::write_file_durably(dir.path / "state", "one");
  submitd::write_file_durably(dir.path / "state", "two");
  EXPECT_EQ(read_all(dir.path / "state"), "two");
  EXPECT_EQ(dir.entries(), 1u);
}

TEST(ForEachStriped, VisitsEveryIndexOnce) {
  for (std::size_t count : {0u, 1u, 7u, 8u, 33u, 100u}) {
    std::vector<std::atomic<int>> seen(count);
    submitd::for_each_striped(count, 8, 4, [&seen](std::size_t i) { ++seen[i]; });
    for (std::size_t i = 0; i < count; ++i) EXPECT_EQ(seen[i].load(), 1) << count << " " << i;
  }
}

struct Item {
  int value = 0;
  std::exception_ptr error;
  std::vector<int>* completed = nullptr;
  void complete() { completed->push_back(error ? -value : value); }
};

TEST(TryStep, AFailedStepFailsOnlyItsItemAndLaterStepsSkipIt) {
  std::vector<int> completed;
  Item ok{1, nullptr, &completed}, bad{2, nullptr, &completed};
  int runs = 0;
  submitd::try_step(bad, [&] { throw std::runtime_error("write failed"); });
  submitd::try_step(bad, [&] { ++runs; });
  submitd::try_step(ok, [&] { ++runs; });
  EXPECT_EQ(runs, 1);
  EXPECT_TRUE(bad.error);
  EXPECT_FALSE(ok.error);
}

TEST(BatchThread, ItemsQueuedDuringABatchFormTheNextAndCompleteOnTheExecutor) {
  boost::asio::io_context io;
  std::vector<int> completed;  // touched only on the io_context's thread (this one)
  std::vector<std::size_t> batch_sizes;
  std::promise<void> first_started, release_first;
  auto released = release_first.get_future().share();
  std::atomic<bool> first = true;
  {
    BatchThread<Item> thread(io.get_executor(), [&](std::deque<Item>& batch) {
      batch_sizes.push_back(batch.size());
      if (first.exchange(false)) {
        first_started.set_value();
        released.wait();  // hold the first batch while more is queued
      }
    });
    thread.push(Item{1, nullptr, &completed});
    first_started.get_future().wait();
    for (int v = 2; v <= 5; ++v) thread.push(Item{v, nullptr, &completed});
    EXPECT_TRUE(completed.empty());  // nothing completes off the executor
    release_first.set_value();
  }  // the destructor handles what is queued before it stops
  io.run();
  EXPECT_EQ(batch_sizes, (std::vector<std::size_t>{1, 4}));
  EXPECT_EQ(completed, (std::vector<int>{1, 2, 3, 4, 5}));
}

}  // namespace
