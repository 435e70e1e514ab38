// Role: minimal RAII around the SQLite C API for the journal: an owned connection, owned
// prepared statements, and one error type whose message names the file and what failed.
// Nothing else in the daemon includes sqlite3.h.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace submitd::journal {

class JournalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  // SQLITE_FULL or an I/O error that is likely a full disk: worth waiting for, not fatal.
  bool disk_full = false;
};

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // The text is not copied (a copy per value was a malloc per value on the journal's hot
  // path): it must stay alive until reset(), which every use calls right after step(). A
  // temporary string cannot be bound (that overload is deleted), and a failed step() resets.
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::string&& text) = delete;
  Statement& bind(int index, std::int64_t value);
  Statement& bind_null(int index);
  // Steps once: true when a row is available, false when done. Throws JournalError.
  bool step();
  // Resets for the next use and clears bindings.
  void reset();

  std::int64_t column_int(int index) const;
  std::string column_text(int index) const;
  bool column_is_null(int index) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  Database(const std::string& path, int flags);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }
  void exec(std::string_view sql);
  std::int64_t scalar_int(std::string_view sql);
  [[noreturn]] void fail(std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace submitd::journal
