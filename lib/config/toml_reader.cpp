// Role: the typed look-ups of one TOML document (see toml_reader.hpp).
#include "config/toml_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "config/load.hpp"

namespace submitd::config {
namespace fs = std::filesystem;
namespace {

// Edit distance, to suggest the intended key for a typo ("conections" -> "connections").
size_t distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diag = up;
    }
  }
  return row[b.size()];
}

template <typename Names>
std::string suggestion(std::string_view wrong, const Names& names, std::string_view prefix,
                       std::string_view suffix = "") {
  for (std::string_view name : names)
    if (distance(wrong, name) <= 2)
      return " (did you mean " + std::string(prefix) + std::string(name) + std::string(suffix) +
             "?)";
  return {};
}

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

// The value as the user wrote it (roughly), for "key = value: why" messages.
std::string show(const toml::node& n) {
  if (n.is_table()) return "{...}";
  if (n.is_array()) return "[...]";
  if (const auto* s = n.as_string()) {
    std::string out = "\"";
    for (unsigned char c : s->get().substr(0, 200)) {
      if (c == '"' || c == '\\') out += '\\';
      if (c < 0x20 || c == 0x7f) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\u%04X", c);
        out += hex;
      } else {
        out += static_cast<char>(c);
      }
    }
    if (s->get().size() > 200) out += "...";
    return out + "\"";
  }
  std::ostringstream os;
  n.visit([&os](const auto& v) { os << v; });
  return os.str();
}

}  // namespace

void Reader::fail_at(const toml::node* node, std::string_view subject, std::string_view why) const {
  std::string where(origin_);
  if (node && node->source().begin.line > 0) where += ":" + std::to_string(node->source().begin.line);
  throw ConfigError(where + ": " + std::string(subject) + ": " + std::string(why));
}

void Reader::fail(std::string_view key, const toml::node* node, std::string_view why) const {
  fail_at(node, node ? std::string(key) + " = " + show(*node) : std::string(key), why);
}

void Reader::check_known_keys() const { check_tables(root_, ""); }

// A table's keys: each is a schema table (its keys checked), or the first part of one with a
// dotted name ("intake" of "intake.jetstream": checked one level down), or unknown.
void Reader::check_tables(const toml::table& level, std::string_view prefix) const {
  std::vector<std::string_view> table_names;
  for (const auto& t : schema_) table_names.push_back(t.name);
  for (auto&& [name_here, node] : level) {
    const std::string full =
        prefix.empty() ? std::string(name_here.str()) : std::string(prefix) + "." + std::string(name_here.str());
    const TableSchema* table = nullptr;
    bool parent = false;
    for (const auto& t : schema_) {
      if (t.name == full) table = &t;
      parent = parent || (t.name.size() > full.size() && t.name.substr(0, full.size()) == full && t.name[full.size()] == '.');
    }
    if (!table && parent && node.is_table()) {
      check_tables(*node.as_table(), full);
      continue;
    }
    if (!table) {
      std::string hint = suggestion(full, table_names, "[", "]");
      if (hint.empty()) {
        hint = " (known tables:";
        for (auto name : table_names) hint += " [" + std::string(name) + "]";
        hint += ")";
      }
      if (node.is_table()) fail_at(&node, "[" + full + "]", "unknown table" + hint);
      fail(full, &node, "unknown key" + hint);
    }
    const auto* sub = node.as_table();
    if (!sub) fail(full, &node, "expected a table, found " + type_name(node));
    for (auto&& [subkey, subnode] : *sub) {
      bool known = false;
      for (auto k : table->keys) known = known || k == subkey.str();
      if (!known) {
        const std::string table_prefix = std::string(table->name) + ".";
        fail(table_prefix + std::string(subkey.str()), &subnode,
             "unknown key" + suggestion(subkey.str(), table->keys, table_prefix));
      }
    }
  }
}

const toml::node* Reader::find(std::string_view table, std::string_view key) const {
  const auto* t = toml::at_path(root_, table).as_table();
  return t ? t->get(key) : nullptr;
}

std::optional<std::string> Reader::string(std::string_view table, std::string_view key) const {
  const toml::node* n = find(table, key);
  if (!n) return std::nullopt;
  if (!n->is_string()) fail(name(table, key), n, "expected a string, found " + type_name(*n));
  return n->as_string()->get();
}

std::optional<int64_t> Reader::integer(std::string_view table, std::string_view key, int64_t lo, int64_t hi) const {
  const toml::node* n = find(table, key);
  if (!n) return std::nullopt;
  if (!n->is_integer()) fail(name(table, key), n, "expected an integer, found " + type_name(*n));
  int64_t v = n->as_integer()->get();
  if (v < lo || v > hi)
    fail(name(table, key), n, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return v;
}

std::optional<bool> Reader::boolean(std::string_view table, std::string_view key) const {
  const toml::node* n = find(table, key);
  if (!n) return std::nullopt;
  if (!n->is_boolean()) fail(name(table, key), n, "expected true or false, found " + type_name(*n));
  return n->as_boolean()->get();
}

fs::path Reader::checked_path(std::string_view table, std::string_view key, const toml::node* node,
                              std::string text) const {
  if (text.empty() || text[0] != '/') fail(name(table, key), node, "must be an absolute path (starting with '/')");
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return fs::path(text);
}

std::optional<fs::path> Reader::absolute_path(std::string_view table, std::string_view key) const {
  auto s = string(table, key);
  if (!s) return std::nullopt;
  return checked_path(table, key, find(table, key), std::move(*s));
}

std::vector<fs::path> Reader::absolute_paths(std::string_view table, std::string_view key) const {
  std::vector<fs::path> out;
  const toml::node* n = find(table, key);
  if (!n) return out;
  const auto* array = n->as_array();
  if (!array) fail(name(table, key), n, "expected an array of absolute paths, found " + type_name(*n));
  for (const toml::node& item : *array) {
    if (!item.is_string()) fail(name(table, key), &item, "expected an absolute path, found " + type_name(item));
    out.push_back(checked_path(table, key, &item, item.as_string()->get()));
  }
  return out;
}

std::vector<std::string> Reader::strings(std::string_view table, std::string_view key) const {
  std::vector<std::string> out;
  const toml::node* n = find(table, key);
  if (!n) return out;
  const auto* array = n->as_array();
  if (!array) fail(name(table, key), n, "expected an array of strings, found " + type_name(*n));
  for (const toml::node& item : *array) {
    if (!item.is_string()) fail(name(table, key), &item, "expected a string, found " + type_name(item));
    out.push_back(item.as_string()->get());
  }
  return out;
}

void check_readable_file(const Reader& r, std::string_view table, std::string_view key,
                         const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    r.fail(Reader::name(table, key), r.find(table, key),
           std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ::close(fd);
  if (!regular) r.fail(Reader::name(table, key), r.find(table, key), "not a regular file");
}

}  // namespace submitd::config
