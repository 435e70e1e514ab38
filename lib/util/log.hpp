// Role: the one logging sink of the programs. Each line is a level, a message and, for the
// events an operator searches for, structured fields (requestId, jobId, claim id, stage, HTTP
// status, and a MESSAGE_ID per kind of event). Where the line goes is the sink's business:
// timestamped text on stderr by default; the daemon installs the journal's native sink when
// its stderr is the journal (journal_sink.hpp), so `journalctl REQUEST_ID=...` works.
// Callers name requests by requestId/jobId only; request bodies, keys and tokens must never be
// passed here.
#pragma once

#include <fmt/format.h>

#include <exception>
#include <string>
#include <string_view>

namespace submitd::log {

enum class Level { debug = 7, info = 6, warning = 4, error = 3 };
std::string_view level_name(Level level);

// A line's fields; empty ones are left out.
struct Fields {
  std::string_view message_id;  // one of the event ids below
  std::string_view request_id, job_id, claim_id, stage;
  int http_status = 0;
};

// MESSAGE_ID of each kind of event (journalctl MESSAGE_ID=...). Never change one: operators'
// queries and alerts name them.
namespace event {
inline constexpr std::string_view request_failed = "22e2f118b3a44bad8ce9da5c4e55c7b6";
inline constexpr std::string_view request_duplicate = "af40f456db444aefb005fe2b462a9b37";
inline constexpr std::string_view request_trace = "a4624fdbca484ff9bc3adb6867e2bbc6";  // debug
inline constexpr std::string_view api_deferring = "69453a85d49549ff921aa21cf96b8ee5";
inline constexpr std::string_view file_placed = "e99058dfded04759b3fc21c72452a35b";
inline constexpr std::string_view file_following = "6bb9ed4a4a664d98b471cf05b4a11391";
inline constexpr std::string_view file_resumed = "2868bfd09b9c4f1b92449a5ca1952ad6";
inline constexpr std::string_view file_control = "251a4d54b69248f9b581a000a779e2d0";
inline constexpr std::string_view job_ended = "1bf197fd6b1d402faa1293c4cc0f32f0";
inline constexpr std::string_view job_abort = "b92ed2a217994ae98f86e30c63af823f";
inline constexpr std::string_view daemon_started = "a5fc325341f0402199dbf790951ff749";
inline constexpr std::string_view daemon_stopping = "de47eb5ed63549a994e8b45e12361725";
inline constexpr std::string_view config_refused = "74ef34bce23a4b0b87573de0d947fef7";
}  // namespace event

void set_min_level(Level level);
bool enabled(Level level);

// Where lines go. The default writes text to stderr (see text_line). A sink may be called
// from any thread; it must write each line whole.
using Sink = void (*)(Level level, std::string_view message, const Fields& fields);
void set_sink(Sink sink);
void text_sink(Level level, std::string_view message, const Fields& fields);

// Writes one line through the sink.
void write(Level level, std::string_view message, const Fields& fields = {});
// Control characters in `message` (newlines included) as \xNN, so nothing logged can forge a
// line of its own.
std::string one_line(std::string_view message);
// The text form: "2026-12-05T20:56:36.123Z warning: message; request_id=... job_id=...".
std::string text_line(Level level, std::string_view message, const Fields& fields, std::string_view timestamp);

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
// A line with fields.
template <typename... Args>
void event_line(Level level, const Fields& fields, fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(level)) write(level, fmt::format(f, std::forward<Args>(args)...), fields);
}

// Logs what ended a spawned coroutine with an exception (nothing may escape silently); a
// null `e` logs nothing. For co_spawn completion handlers.
void escaped(std::exception_ptr e, const char* what);

}  // namespace submitd::log
