// Role: the control socket as a request source (see posted_source.hpp).
#include "submit/posted_source.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>

#include <system_error>

namespace submitd::submit {
namespace asio = boost::asio;

PostedSource::PostedSource(asio::any_io_executor executor, const spool::SpoolPaths& paths, Intake& intake,
                           StorageWatch& storage, std::function<void()> on_stored)
    : executor_(executor),
      paths_(paths),
      intake_(intake),
      storage_(storage),
      on_stored_(std::move(on_stored)),
      thread_(executor, [this](std::deque<Post>& batch) { commit(batch); }) {}

void PostedSource::accept(std::string content, const std::string& name, Stored done) {
  if (storage_.full()) {
    auto error = std::make_exception_ptr(std::system_error(
        std::make_error_code(std::errc::no_space_on_device), "the disk is full (" + storage_.reason() + "); try again later"));
    asio::post(executor_, [done = std::move(done), error] { done(error, ""); });
    return;
  }
  spool::ClaimedFile file;
  file.claim_id = spool::new_claim_id();
  file.original_name = name;
  file.kind = spool::InputKind::jsonl;
  file.active_path = paths_.active / (file.claim_id + "." + name);
  thread_.push(Post{this, std::move(file), std::move(content), std::move(done), std::nullopt, nullptr});
}

// The same discipline as a producer's drop, but straight into active/ under our claim.
void PostedSource::commit(std::deque<Post>& batch) {
  for (auto& post : batch) {
    try_step(post, [&] { post.draft.emplace(post.file.active_path, post.content, 0640); });
  }
  for_each_striped(batch.size(), 8, 4, [&batch](std::size_t i) { try_step(batch[i], [&] { batch[i].draft->sync(); }); });
  bool installed = false;
  for (auto& post : batch) {
    try_step(post, [&] {
      post.draft->install();
      installed = true;
    });
  }
  if (!installed) return;
  try {
    fsync_dir(paths_.active);
  } catch (...) {
    // Not known to be durable, so not acknowledged: removed again, so that a post answered
    // 503 does not run anyway after a restart (its client may well post it again).
    for (auto& post : batch) {
      if (post.error) continue;
      post.error = std::current_exception();
      ::unlink(post.file.active_path.c_str());
    }
  }
}

void PostedSource::finish(Post& post) {
  post.draft.reset();
  if (post.error) {
    try {
      std::rethrow_exception(post.error);
    } catch (const std::exception& e) {
      storage_.note_write_failure("store a posted file", e);
    } catch (...) {
    }
    return post.done(post.error, "");
  }
  if (on_stored_) on_stored_();
  std::string claim_id = post.file.claim_id;
  intake_.start(std::move(post.file));
  post.done(nullptr, std::move(claim_id));
}

}  // namespace submitd::submit
