// Role: reading one parsed TOML document against the documented schema, for the loader's
// files alone (load.cpp, load_transfer.cpp): typed look-ups that refuse a wrong type or a value
// out of range, and errors that name the origin, the line, the key, the value and why.
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace submitd::config {

struct TableSchema {
  std::string_view name;
  std::vector<std::string_view> keys;
};

class Reader {
 public:
  Reader(std::string_view origin, const toml::table& root, std::span<const TableSchema> schema)
      : origin_(origin), root_(root), schema_(schema) {}

  // "origin:line: subject: why"; the line when the node is known.
  [[noreturn]] void fail_at(const toml::node* node, std::string_view subject, std::string_view why) const;
  // "origin:line: key = value: why", or "origin: key: why" for a key that is not there.
  [[noreturn]] void fail(std::string_view key, const toml::node* node, std::string_view why) const;
  // Refuses keys and tables that are not in the schema, before any value is looked at.
  void check_known_keys() const;

  const toml::node* find(std::string_view table, std::string_view key) const;
  std::optional<std::string> string(std::string_view table, std::string_view key) const;
  std::optional<int64_t> integer(std::string_view table, std::string_view key, int64_t lo, int64_t hi) const;
  std::optional<bool> boolean(std::string_view table, std::string_view key) const;
  // Paths are absolute: the daemon's working directory is "/" under systemd, so a relative
  // path would silently mean something else there than in a shell.
  std::optional<std::filesystem::path> absolute_path(std::string_view table, std::string_view key) const;
  // An array of absolute paths (each checked like absolute_path); absent: empty.
  std::vector<std::filesystem::path> absolute_paths(std::string_view table, std::string_view key) const;
  // An array of strings; absent: empty.
  std::vector<std::string> strings(std::string_view table, std::string_view key) const;

  static std::string name(std::string_view table, std::string_view key) {
    return std::string(table) + "." + std::string(key);
  }

 private:
  void check_tables(const toml::table& level, std::string_view prefix) const;
  std::filesystem::path checked_path(std::string_view table, std::string_view key, const toml::node* node,
                                     std::string text) const;

  std::string_view origin_;
  const toml::table& root_;
  std::span<const TableSchema> schema_;
};

// Refuses a path that cannot be opened or is not a regular file.
void check_readable_file(const Reader& r, std::string_view table, std::string_view key,
                         const std::filesystem::path& path);

template <class T>
struct NumberOf {
  using type = T;
};
template <class Rep, class Period>
struct NumberOf<std::chrono::duration<Rep, Period>> {
  using type = Rep;
};

// Reads an integer key within [lo, hi] into `field` (an integer, or a std::chrono duration
// counted in the key's unit), leaving the default when the key is absent.
template <class Field>
void read_number(const Reader& r, const char* table, const char* key, std::int64_t lo, std::int64_t hi, Field& field) {
  if (auto v = r.integer(table, key, lo, hi)) field = Field(static_cast<typename NumberOf<Field>::type>(*v));
}

}  // namespace submitd::config
