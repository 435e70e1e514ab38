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

namespace {
void append_one_line(std::string& out, std::string_view message) {
  auto is_control = [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; };
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
}
}  // namespace

std::string one_line(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  append_one_line(out, message);
  return out;
}

void write(Level level, std::string_view message) {
  // Text from outside (file names, API messages) is in many messages: a newline in it must
  // not start a line that journald would read with a priority of its own. The line is built
  // once, outside the lock.
  std::string line;
  line.reserve(message.size() + 5);
  line.push_back('<');
  line.push_back(static_cast<char>('0' + static_cast<int>(level)));
  line.push_back('>');
  append_one_line(line, message);
  line.push_back('\n');
  std::lock_guard lock(g_write_mutex);
  // One fwrite per line so concurrent writers never interleave within a line.
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
