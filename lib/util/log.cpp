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

std::string one_line(std::string_view message) {
  auto is_control = [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; };
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    if (!is_control(c)) {
      out.push_back(c);
      continue;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    const auto byte = static_cast<unsigned char>(c);
    out += "\\x";
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  return out;
}

void write(Level level, std::string_view message) {
  // Text from outside (file names, API messages) is in many messages: a newline in it must
  // not start a line that journald would read with a priority of its own.
  const std::string text = one_line(message);
  std::lock_guard lock(g_write_mutex);
  // One fwrite per line so concurrent writers never interleave within a line.
  std::string line = fmt::format("<{}>{}\n", static_cast<int>(level), text);
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
