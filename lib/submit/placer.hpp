// Role: placing finished files in done/ and failed/ as a group commit, on a thread of its own.
// Placing one file took four fsyncs on the I/O thread (its outcome file, the target directory
// twice, active/): with one request per file that was most of a request's cost, and the I/O
// thread waited through all of them. Files finished meanwhile are placed together: each
// outcome (and retry) file is synced and renamed into place, each target directory is synced
// once, then every input is moved and the directories are synced once more. The order of each
// file's steps, and so every durability promise, is the one FinishedFileWriter::finish keeps.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "spool/finished_file.hpp"

namespace submitd::submit {

class Placer {
 public:
  Placer(boost::asio::any_io_executor executor, const spool::SpoolPaths& paths);
  ~Placer();  // places what is queued, then stops the thread
  Placer(const Placer&) = delete;
  Placer& operator=(const Placer&) = delete;

  // Places the file of `writer` (which must stay alive and untouched until this completes, on
  // the I/O executor). Throws what FinishedFileWriter::finish would; the input then stays in
  // active/.
  boost::asio::awaitable<spool::PlacedNames> place(spool::FinishedFileWriter& writer);

 private:
  struct Item {
    spool::FinishedFileWriter* writer;
    std::function<void(std::exception_ptr, spool::PlacedNames)> done;  // run on the I/O executor
    spool::PlacedNames names;
    std::exception_ptr error;
  };
  void run();
  void place_batch(std::deque<Item>& batch);
  static void sync_in_parallel(std::deque<Item>& batch);

  boost::asio::any_io_executor executor_;
  const spool::SpoolPaths& paths_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace submitd::submit
