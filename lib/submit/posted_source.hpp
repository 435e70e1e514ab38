// Role: the control socket as a request source. A post's acceptable requests (JSON Lines) are
// stored durably as a claimed input straight in active/ under a fresh claim id, so its jobIds
// are known and the post is answered only once its requests would survive a crash; then the
// input is handed over. Posts are stored as a group commit on a thread of their own: each
// post's temp file is written and synced (the syncs of a batch run together), renamed into
// active/, and active/ is synced once for the whole batch. One post at a time cost two fsyncs
// on the I/O thread, which every other connection waited through.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <deque>
#include <exception>
#include <functional>
#include <optional>
#include <string>

#include "spool/spool_paths.hpp"
#include "submit/request_source.hpp"
#include "submit/storage_watch.hpp"
#include "util/batch_thread.hpp"
#include "util/durable_fs.hpp"

namespace submitd::submit {

class PostedSource : public RequestSource {
 public:
  using Stored = std::function<void(std::exception_ptr error, std::string claim_id)>;

  PostedSource(boost::asio::any_io_executor executor, const spool::SpoolPaths& paths, Intake& intake,
               StorageWatch& storage, std::function<void()> on_stored = {});

  // Posts arrive through accept(): nothing to watch.
  boost::asio::awaitable<void> run() override { co_return; }
  // Posts end with the control server, which stops taking them.
  void stop() override {}

  // Stores `content` as an input named `name`, starts it, and calls `done` with its claim id;
  // or calls `done` with why it could not be stored (the disk is full, a write failed). `done`
  // runs on the I/O executor, never from inside this call.
  void accept(std::string content, const std::string& name, Stored done);

 private:
  struct Post {
    PostedSource* source;
    spool::ClaimedFile file;
    std::string content;
    Stored done;
    std::optional<FileDraft> draft;
    std::exception_ptr error;
    void complete() { source->finish(*this); }
  };
  void commit(std::deque<Post>& batch);  // on the batch thread
  void finish(Post& post);               // on the I/O executor

  boost::asio::any_io_executor executor_;
  const spool::SpoolPaths& paths_;
  Intake& intake_;
  StorageWatch& storage_;
  std::function<void()> on_stored_;
  BatchThread<Post> thread_;  // last: its thread uses the members above
};

}  // namespace submitd::submit
