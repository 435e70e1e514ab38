// Role: the SQLite RAII wrappers (see sqlite_handle.hpp).
#include "journal/sqlite_handle.hpp"

#include <mutex>

namespace submitd::journal {
namespace {

std::string describe(sqlite3* db, int rc, std::string_view what) {
  return std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

[[noreturn]] void throw_error(int rc, std::string message) {
  JournalError e(message);
  int primary = rc & 0xff;
  e.disk_full = primary == SQLITE_FULL || primary == SQLITE_IOERR;
  throw e;
}

[[noreturn]] void throw_for(sqlite3* db, int rc, std::string_view what) { throw_error(rc, describe(db, rc, what)); }

}  // namespace

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                              &stmt_, nullptr);
  if (rc != SQLITE_OK) throw_for(db, rc, "preparing a journal statement");
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = o.db_;
    stmt_ = o.stmt_;
    o.stmt_ = nullptr;
  }
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  int rc = sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  if (rc != SQLITE_OK) throw_for(db_, rc, "binding a journal value");
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) throw_for(db_, rc, "binding a journal value");
  return *this;
}

Statement& Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) throw_for(db_, rc, "binding a journal value");
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string message = describe(db_, rc, "journal statement");
  reset();  // no binding may outlive the values it points to
  throw_error(rc, std::move(message));
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }

std::string Statement::column_text(int index) const {
  const auto* p = sqlite3_column_text(stmt_, index);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index)));
}

bool Statement::column_is_null(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }

Database::Database(const std::string& path, int flags) : path_(path) {
  // Once per process, before SQLite initializes: no memory statistics. Debian's SQLite keeps
  // them by default, which puts a global mutex around every one of its mallocs (and it has
  // no lookaside, so a statement makes several); nothing here reads them. Later calls would
  // be refused harmlessly (SQLITE_MISUSE), hence the once.
  static std::once_flag configured;
  std::call_once(configured, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = "cannot open the journal " + path + ": " +
                          (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    if (db_ != nullptr) sqlite3_close(db_);
    db_ = nullptr;
    throw JournalError(message);
  }
  sqlite3_extended_result_codes(db_, 1);
  // Another connection (the reader) may hold a lock briefly; wait rather than fail.
  sqlite3_busy_timeout(db_, 5000);
}

Database::~Database() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

void Database::exec(std::string_view sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string message = "journal " + path_ + ": " + (error ? error : sqlite3_errstr(rc));
    sqlite3_free(error);
    JournalError e(message);
    int primary = rc & 0xff;
    e.disk_full = primary == SQLITE_FULL || primary == SQLITE_IOERR;
    throw e;
  }
}

std::int64_t Database::scalar_int(std::string_view sql) {
  Statement s(db_, sql);
  return s.step() ? s.column_int(0) : 0;
}

void Database::fail(std::string_view what) const {
  throw JournalError("journal " + path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_));
}

}  // namespace submitd::journal
