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

#include <deque>
#include <exception>
#include <functional>

#include "spool/finished_file.hpp"
#include "util/batch_thread.hpp"

namespace submitd::submit {

class Placer {
 public:
  // Its destructor places what is queued, then stops the thread.
  Placer(boost::asio::any_io_executor executor, const spool::SpoolPaths& paths);

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
    void complete() { done(error, std::move(names)); }
  };
  void place_batch(std::deque<Item>& batch);

  const spool::SpoolPaths& paths_;
  BatchThread<Item> thread_;  // last: its thread uses the members above
};

}  // namespace submitd::submit
