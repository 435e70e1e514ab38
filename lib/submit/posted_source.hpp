// Role: the control socket as a request source. A post's acceptable requests (JSON Lines) are
// stored durably as a claimed input straight in active/ under a fresh claim id (written to a
// temporary, fsynced, renamed, active/ fsynced), so its jobIds are known and the post is
// answered only once its requests would survive a crash; then the input is handed over.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>

#include "spool/spool_paths.hpp"
#include "submit/request_source.hpp"
#include "submit/storage_watch.hpp"

namespace submitd::submit {

class PostedSource : public RequestSource {
 public:
  PostedSource(const spool::SpoolPaths& paths, Intake& intake, StorageWatch& storage,
               std::function<void()> on_stored = {})
      : paths_(paths), intake_(intake), storage_(storage), on_stored_(std::move(on_stored)) {}

  // Posts arrive through accept(): nothing to watch.
  boost::asio::awaitable<void> run() override { co_return; }
  // Posts end with the control server, which stops taking them.
  void stop() override {}

  // Stores `content` as an input named `name` and starts it. Returns the claim id. Throws
  // std::system_error when it cannot (the disk is full, stopping, a write failed).
  std::string accept(const std::string& content, const std::string& name);

 private:
  const spool::SpoolPaths& paths_;
  Intake& intake_;
  StorageWatch& storage_;
  std::function<void()> on_stored_;
};

}  // namespace submitd::submit
