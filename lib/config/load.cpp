// Role: TOML text -> Settings. The schema below is the list of documented keys; anything
// else is refused, so a misspelt key is an error at start-up rather than a silent default.
#include "config/load.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <sstream>
#include <vector>

#include "config/address.hpp"
#include "config/small_file.hpp"

namespace submitd::config {
namespace {

namespace fs = std::filesystem;

struct TableSchema {
  std::string_view name;
  std::vector<std::string_view> keys;
};

const std::array<TableSchema, 8>& schema() {
  static const std::array<TableSchema, 8> tables{{
      {"api",
       {"base_url", "customer_path", "api_key_file", "ca_file", "connections", "connect_timeout_ms",
        "request_timeout_ms", "max_inflight", "retry_base_ms", "retry_cap_ms", "retry_after_cap_s",
        "blocked_retry_s", "retry_budget_percent", "retry_budget_min_per_second",
        "rate_limit_per_second", "adaptive", "shutdown_grace_s"}},
      {"spool",
       {"dir", "max_request_bytes", "rescan_interval_ms", "done_retention_days",
        "give_up_after_s", "max_active_files", "min_free_mb"}},
      {"state", {"dir", "fsync"}},
      {"control", {"socket", "group", "max_backlog_files", "max_connections"}},
      {"metrics", {"listen"}},
      {"log", {"level"}},
      {"submit", {"request_id_retention_days", "force_test_jobs", "max_jobs_per_minute"}},
      {"follow", {"enabled", "poll_interval_s", "max_followed", "give_up_margin_s"}},
  }};
  return tables;
}

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

class Reader {
 public:
  Reader(std::string_view origin, const toml::table& root) : origin_(origin), root_(root) {}

  // "origin:line: subject: why"; the line when the node is known.
  [[noreturn]] void fail_at(const toml::node* node, std::string_view subject,
                            std::string_view why) const {
    std::string where(origin_);
    if (node && node->source().begin.line > 0)
      where += ":" + std::to_string(node->source().begin.line);
    throw ConfigError(where + ": " + std::string(subject) + ": " + std::string(why));
  }

  // "origin:line: key = value: why", or "origin: key: why" for a key that is not there.
  [[noreturn]] void fail(std::string_view key, const toml::node* node, std::string_view why) const {
    fail_at(node, node ? std::string(key) + " = " + show(*node) : std::string(key), why);
  }

  // Refuses keys and tables that are not in the schema, before any value is looked at.
  void check_known_keys() const {
    std::vector<std::string_view> table_names;
    for (const auto& t : schema()) table_names.push_back(t.name);
    for (auto&& [key, node] : root_) {
      const TableSchema* table = nullptr;
      for (const auto& t : schema())
        if (t.name == key.str()) table = &t;
      if (!table) {
        std::string hint = suggestion(key.str(), table_names, "[", "]");
        if (hint.empty()) {
          hint = " (known tables:";
          for (auto name : table_names) hint += " [" + std::string(name) + "]";
          hint += ")";
        }
        if (node.is_table())
          fail_at(&node, "[" + std::string(key.str()) + "]", "unknown table" + hint);
        fail(key.str(), &node, "unknown key" + hint);
      }
      const auto* sub = node.as_table();
      if (!sub) fail(key.str(), &node, "expected a table, found " + type_name(node));
      for (auto&& [subkey, subnode] : *sub) {
        bool known = false;
        for (auto k : table->keys) known = known || k == subkey.str();
        if (!known) {
          std::string prefix = std::string(table->name) + ".";
          fail(prefix + std::string(subkey.str()), &subnode,
               "unknown key" + suggestion(subkey.str(), table->keys, prefix));
        }
      }
    }
  }

  const toml::node* find(std::string_view table, std::string_view key) const {
    const auto* t = root_[table].as_table();
    return t ? t->get(key) : nullptr;
  }

  std::optional<std::string> string(std::string_view table, std::string_view key) const {
    const toml::node* n = find(table, key);
    if (!n) return std::nullopt;
    if (!n->is_string()) fail(name(table, key), n, "expected a string, found " + type_name(*n));
    return n->as_string()->get();
  }

  std::optional<int64_t> integer(std::string_view table, std::string_view key, int64_t lo,
                                 int64_t hi) const {
    const toml::node* n = find(table, key);
    if (!n) return std::nullopt;
    if (!n->is_integer()) fail(name(table, key), n, "expected an integer, found " + type_name(*n));
    int64_t v = n->as_integer()->get();
    if (v < lo || v > hi)
      fail(name(table, key), n,
           "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return v;
  }

  std::optional<bool> boolean(std::string_view table, std::string_view key) const {
    const toml::node* n = find(table, key);
    if (!n) return std::nullopt;
    if (!n->is_boolean())
      fail(name(table, key), n, "expected true or false, found " + type_name(*n));
    return n->as_boolean()->get();
  }

  // Paths are absolute: the daemon's working directory is "/" under systemd, so a relative
  // path would silently mean something else there than in a shell.
  std::optional<fs::path> absolute_path(std::string_view table, std::string_view key) const {
    auto s = string(table, key);
    if (!s) return std::nullopt;
    if (s->empty() || (*s)[0] != '/')
      fail(name(table, key), find(table, key), "must be an absolute path (starting with '/')");
    while (s->size() > 1 && s->back() == '/') s->pop_back();
    return fs::path(*s);
  }

  static std::string name(std::string_view table, std::string_view key) {
    return std::string(table) + "." + std::string(key);
  }

 private:
  std::string_view origin_;
  const toml::table& root_;
};

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

void read_api(const Reader& r, ApiSettings& api) {
  if (auto url = r.string("api", "base_url")) {
    std::string why;
    auto parsed = parse_base_url(*url, why);
    if (!parsed) r.fail("api.base_url", r.find("api", "base_url"), why);
    api.base_url = *url;
    api.host = parsed->host;
    api.port = parsed->port;
    api.base_path = parsed->base_path;
  }
  if (auto seg = r.string("api", "customer_path")) {
    if (!is_path_segment(*seg))
      r.fail("api.customer_path", r.find("api", "customer_path"),
             "must be one URL path segment of letters, digits, '.', '_', '~', '-' (e.g. customer)");
    api.customer_path = *seg;
  }
  api.api_key_file = r.absolute_path("api", "api_key_file");
  api.ca_file = r.absolute_path("api", "ca_file");
  if (api.ca_file) check_readable_file(r, "api", "ca_file", *api.ca_file);
  read_number(r, "api", "connections", 1, 1024, api.connections);
  read_number(r, "api", "connect_timeout_ms", 1, 600'000, api.connect_timeout);
  read_number(r, "api", "request_timeout_ms", 1, 3'600'000, api.request_timeout);
  read_number(r, "api", "max_inflight", 1, 100'000, api.max_inflight);
  read_number(r, "api", "retry_base_ms", 1, 600'000, api.retry_base);
  read_number(r, "api", "retry_cap_ms", 1, 86'400'000, api.retry_cap);
  if (api.retry_cap < api.retry_base)
    r.fail("api.retry_cap_ms", r.find("api", "retry_cap_ms"), "must not be below api.retry_base_ms");
  read_number(r, "api", "retry_after_cap_s", 0, 86'400, api.retry_after_cap);
  read_number(r, "api", "blocked_retry_s", 1, 86'400, api.blocked_retry);
  read_number(r, "api", "retry_budget_percent", 0, 10'000, api.retry_budget_percent);
  read_number(r, "api", "retry_budget_min_per_second", 1, 1'000'000, api.retry_budget_min_per_second);
  read_number(r, "api", "rate_limit_per_second", 0, 1'000'000, api.rate_limit_per_second);
  if (auto v = r.boolean("api", "adaptive")) api.adaptive = *v;
  read_number(r, "api", "shutdown_grace_s", 0, 3600, api.shutdown_grace);
}

void read_spool(const Reader& r, SpoolSettings& spool) {
  auto dir = r.absolute_path("spool", "dir");
  if (!dir)
    r.fail("spool.dir", nullptr, "required: set it to the absolute path of the spool directory");
  spool.dir = *dir;
  read_number(r, "spool", "max_request_bytes", 1024, 64 * 1024 * 1024, spool.max_request_bytes);
  read_number(r, "spool", "max_active_files", 1, 10'000, spool.max_active_files);
  if (auto v = r.integer("spool", "min_free_mb", 0, 1'048'576))
    spool.min_free_bytes = static_cast<uint64_t>(*v) * 1024 * 1024;
  read_number(r, "spool", "rescan_interval_ms", 100, 86'400'000, spool.rescan_interval);
  read_number(r, "spool", "done_retention_days", 0, 36'500, spool.done_retention);
  read_number(r, "spool", "give_up_after_s", 1, 31'536'000, spool.give_up_after);
}

void read_metrics(const Reader& r, MetricsSettings& metrics) {
  auto listen = r.string("metrics", "listen");
  if (!listen) return;
  metrics.listen = *listen;
  if (listen->empty()) {
    metrics.enabled = false;
    metrics.host.clear();
    metrics.port = 0;
    return;
  }
  std::string why;
  auto addr = parse_listen_address(*listen, why);
  if (!addr) r.fail("metrics.listen", r.find("metrics", "listen"), why);
  metrics.enabled = true;
  metrics.host = addr->host;
  metrics.port = addr->port;
}

void read_rest(const Reader& r, Settings& s) {
  s.state.dir = r.absolute_path("state", "dir").value_or(s.spool.dir / "state");
  if (auto v = r.boolean("state", "fsync")) s.state.fsync = *v;
  s.control.socket = r.absolute_path("control", "socket");
  // sun_path holds 108 bytes including the terminating NUL.
  if (s.control.socket && s.control.socket->native().size() > 107)
    r.fail("control.socket", r.find("control", "socket"),
           "too long for a Unix socket path (at most 107 bytes)");
  if (auto g = r.string("control", "group")) {
    if (g->empty()) r.fail("control.group", r.find("control", "group"), "must name a group (or be left out)");
    s.control.group = *g;
  }
  read_number(r, "control", "max_backlog_files", 1, 100'000'000, s.control.max_backlog_files);
  read_number(r, "control", "max_connections", 1, 1'000'000, s.control.max_connections);
  if (auto level = r.string("log", "level")) {
    if (*level == "debug")
      s.log.level = LogLevel::debug;
    else if (*level == "info")
      s.log.level = LogLevel::info;
    else if (*level == "warning")
      s.log.level = LogLevel::warning;
    else if (*level == "error")
      s.log.level = LogLevel::error;
    else
      r.fail("log.level", r.find("log", "level"), "must be one of debug, info, warning, error");
  }
  read_number(r, "submit", "max_jobs_per_minute", 0, 10'000'000, s.submit.max_jobs_per_minute);
  read_number(r, "submit", "request_id_retention_days", 1, 3650, s.submit.request_id_retention);
  if (auto v = r.boolean("submit", "force_test_jobs")) s.submit.force_test_jobs = *v;
  if (auto v = r.boolean("follow", "enabled")) s.follow.enabled = *v;
  read_number(r, "follow", "poll_interval_s", 1, 86'400, s.follow.poll_interval);
  read_number(r, "follow", "max_followed", 1, 10'000'000, s.follow.max_followed);
  read_number(r, "follow", "give_up_margin_s", 0, 31'536'000, s.follow.give_up_margin);
}

}  // namespace

std::vector<std::string> known_keys() {
  std::vector<std::string> keys;
  for (const auto& t : schema())
    for (auto k : t.keys) keys.push_back(std::string(t.name) + "." + std::string(k));
  return keys;
}

Settings parse_settings(std::string_view toml_text, std::string_view origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw ConfigError(std::string(origin) + ":" + std::to_string(at.line) + ":" +
                      std::to_string(at.column) +
                      ": not valid TOML: " + std::string(e.description()));
  }
  Reader r(origin, root);
  r.check_known_keys();
  Settings s;
  read_spool(r, s.spool);  // first: state.dir defaults from it
  read_api(r, s.api);
  read_metrics(r, s.metrics);
  read_rest(r, s);
  return s;
}

Settings load_settings_file(const fs::path& file) {
  constexpr std::size_t kMaxConfigBytes = 1 << 20;  // a config file is small; refuse a wrong path
  SmallFileRead read = read_small_regular_file(file, kMaxConfigBytes);
  if (!read.ok()) {
    throw ConfigError("cannot read config file " + file.string() + ": " +
                      (read.too_large ? std::string("larger than 1 MiB, not a config file") : read.error));
  }
  return parse_settings(read.text, file.string());
}

}  // namespace submitd::config
