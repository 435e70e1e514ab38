// Role: implementation of the stderr log sink (see log.hpp).
#include "util/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace submitd::log {
namespace {
std::atomic<int> g_min_level{static_cast<int>(Level::info)};
std::mutex g_write_mutex;
}  // namespace

void set_min_level(Level level) { g_min_level = static_cast<int>(level); }

bool enabled(Level level) { return static_cast<int>(level) <= g_min_level.load(); }

void write(Level level, std::string_view message) {
  std::lock_guard lock(g_write_mutex);
  // One fwrite per line so concurrent writers never interleave within a line.
  std::string line = fmt::format("<{}>{}\n", static_cast<int>(level), message);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

void escaped(std::exception_ptr e, const char* what) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    error("{} ended with an exception: {}", what, x.what());
  } catch (...) {
    error("{} ended with an unknown exception", what);
  }
}

}  // namespace submitd::log
