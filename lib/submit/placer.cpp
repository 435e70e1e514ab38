// Role: the placement group commit (see placer.hpp).
#include "submit/placer.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <set>
#include <vector>

#include "util/durable_fs.hpp"

namespace submitd::submit {
namespace asio = boost::asio;
namespace fs = std::filesystem;

Placer::Placer(asio::any_io_executor executor, const spool::SpoolPaths& paths)
    : paths_(paths), thread_(std::move(executor), [this](std::deque<Item>& batch) { place_batch(batch); }) {}

asio::awaitable<spool::PlacedNames> Placer::place(spool::FinishedFileWriter& writer) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, spool::PlacedNames)>(
      [this, &writer](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        thread_.push(Item{&writer, [h](std::exception_ptr e, spool::PlacedNames n) { (*h)(e, std::move(n)); }, {}, {}});
      },
      asio::use_awaitable);
}

// The outcome files' fsyncs run a few at a time (for_each_striped says why).
void Placer::place_batch(std::deque<Item>& batch) {
  // 1. Each outcome synced and renamed into place (every file's writeback started first).
  for (auto& item : batch) try_step(item, [&] { item.writer->start_writeback(); });
  for_each_striped(batch.size(), 8, 4, [&batch](std::size_t i) {
    try_step(batch[i], [&] { batch[i].writer->sync_outcome(); });
  });
  std::set<fs::path> targets;
  for (auto& item : batch) {
    try_step(item, [&] {
      item.names = item.writer->place_outcome();
      targets.insert(item.names.input.parent_path());
    });
  }
  // 2. Their directories synced once each, before any input leaves active/: then 3. the inputs
  // moved, and 4. both sides synced once more. A failed sync fails the files it was for.
  auto sync_targets = [&](const std::set<fs::path>& dirs) {
    for (const auto& dir : dirs) {
      try {
        fsync_dir(dir);
      } catch (...) {
        for (auto& item : batch) {
          const bool concerned = dir == paths_.active || item.names.input.parent_path() == dir;
          if (!item.error && concerned) item.error = std::current_exception();
        }
      }
    }
  };
  sync_targets(targets);
  std::set<fs::path> moved_into;
  for (auto& item : batch) {
    try_step(item, [&] {
      item.writer->place_input(item.names);
      moved_into.insert(item.names.input.parent_path());
    });
  }
  if (moved_into.empty()) return;
  moved_into.insert(paths_.active);
  sync_targets(moved_into);
}

}  // namespace submitd::submit
