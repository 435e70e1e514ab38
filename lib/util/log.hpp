// Role: the one logging sink of the programs: leveled lines on stderr, journald-friendly
// (a "<N>" priority prefix that systemd-journald understands). Callers name requests by
// requestId/jobId only; request bodies, keys and tokens must never be passed here.
#pragma once

#include <fmt/format.h>

#include <exception>
#include <string_view>

namespace submitd::log {

enum class Level { debug = 7, info = 6, warning = 4, error = 3 };

void set_min_level(Level level);
bool enabled(Level level);
// Writes one line: control characters in `message` (newlines included) are written as \xNN,
// so nothing logged can forge a line of its own.
void write(Level level, std::string_view message);
std::string one_line(std::string_view message);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::debug)) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::info)) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::warning)) write(Level::warning, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::error)) write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}

// Logs what ended a spawned coroutine with an exception (nothing may escape silently); a
// null `e` logs nothing. For co_spawn completion handlers.
void escaped(std::exception_ptr e, const char* what);

}  // namespace submitd::log
