// Role: implementation of the log (see log.hpp): levels, the sink, and the text form.
#include "util/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace submitd::log {
namespace {
std::atomic<int> g_min_level{static_cast<int>(Level::info)};
std::atomic<Sink> g_sink{&text_sink};
std::mutex g_write_mutex;

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

void append_field(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  out += out.back() == ';' ? " " : ", ";
  out += key;
  out += '=';
  append_one_line(out, value);
}

// UTC with milliseconds: lines from several hosts sort and compare.
std::string now_utc() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the format could meet (the compiler checks)
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

std::string_view level_name(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warning: return "warning";
    case Level::error: return "error";
  }
  return "info";
}

void set_min_level(Level level) { g_min_level = static_cast<int>(level); }

bool enabled(Level level) { return static_cast<int>(level) <= g_min_level.load(); }

void set_sink(Sink sink) { g_sink = sink ? sink : &text_sink; }

std::string one_line(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  append_one_line(out, message);
  return out;
}

std::string text_line(Level level, std::string_view message, const Fields& fields, std::string_view timestamp) {
  std::string line;
  line.reserve(timestamp.size() + message.size() + 16);
  line += timestamp;
  line += ' ';
  line += level_name(level);
  line += ": ";
  append_one_line(line, message);
  const bool any = !fields.request_id.empty() || !fields.job_id.empty() || !fields.claim_id.empty() ||
                   !fields.stage.empty() || fields.http_status != 0;
  if (any) {
    line += ';';
    append_field(line, "request_id", fields.request_id);
    append_field(line, "job_id", fields.job_id);
    append_field(line, "claim_id", fields.claim_id);
    append_field(line, "stage", fields.stage);
    if (fields.http_status != 0) append_field(line, "http_status", std::to_string(fields.http_status));
  }
  line.push_back('\n');
  return line;
}

void text_sink(Level level, std::string_view message, const Fields& fields) {
  // Text from outside (file names, API messages) is in many messages: a newline in it must
  // not start a line of its own. The line is built once, outside the lock.
  const std::string line = text_line(level, message, fields, now_utc());
  std::lock_guard lock(g_write_mutex);
  // One fwrite per line so concurrent writers never interleave within a line.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

void write(Level level, std::string_view message, const Fields& fields) { g_sink.load()(level, message, fields); }

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
