// Role: the job-request validator (see request_parser.hpp). It walks every value of the
// request with simdjson On-Demand, because On-Demand only validates what is visited and the
// pass-through objects must reach the API as valid JSON; the walk also finds duplicate keys,
// which JSON parsers otherwise resolve silently and differently.
#include "spool/request_parser.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "spool/request_json_text.hpp"

namespace submitd::spool {
namespace {

namespace od = simdjson::ondemand;

// Thrown inside the walk only; parse_request turns it into a RequestError.
struct Invalid {
  std::string field;
  std::string message;
};

constexpr size_t kMaxWarnings = 8;
constexpr std::string_view kBadLiteral = "invalid literal (expected true, false or null)";  // a request with 10k unknown fields must not flood logs

// Per-thread buffers reused across calls: the padded copy of the input and the key stack.
struct Scratch {
  std::string padded;
  std::vector<std::string_view> keys;
};
thread_local Scratch tls_scratch;

std::string_view type_name(od::json_type t) {
  switch (t) {
    case od::json_type::array: return "array";
    case od::json_type::object: return "object";
    case od::json_type::number: return "number";
    case od::json_type::string: return "string";
    case od::json_type::boolean: return "boolean";
    case od::json_type::null: return "null";
  }
  return "unknown";
}

std::string join(std::string_view path, std::string_view key) {
  std::string k = printable(key);
  return path.empty() ? k : fmt::format("{}.{}", path, k);
}

class Walker {
 public:
  Walker(od::document& doc, const char* base, size_t base_offset, std::vector<std::string_view>& keys)
      : doc_(doc), base_(base), base_offset_(base_offset), keys_(keys) {}

  // 1-based byte position in the caller's text (which may have had a BOM in front).
  size_t position(const char* p) const { return static_cast<size_t>(p - base_) + base_offset_ + 1; }

  [[noreturn]] void json_error(simdjson::error_code e, const char* hint) {
    json_error(simdjson::error_message(e), hint);
  }

  // `hint`: the start of the value being read, or null for structural errors, where the
  // iterator's own position (the unexpected token) is the better answer.
  [[noreturn]] void json_error(std::string_view what, const char* hint) {
    const char* at = hint;
    auto loc = doc_.current_location();
    if (!at && !loc.error()) at = loc.value_unsafe();
    if (!at) throw Invalid{"", fmt::format("not valid JSON: {}", what)};
    throw Invalid{"", fmt::format("not valid JSON: {} near byte {}", what, position(at))};
  }

  // The type of a value that is about to be refused for its type: validated first, so a
  // broken literal ("tru") is reported as broken JSON rather than as a boolean.
  std::string_view found(od::value& v, const std::string& path) {
    od::json_type t = type_of(v);
    walk(v, path, 2);
    return type_name(t);
  }

  void check(simdjson::error_code e, const char* hint) {
    if (e) json_error(e, hint);
  }

  od::json_type type_of(od::value& v) {
    od::json_type t{};
    check(v.type().get(t), v.raw_json_token().data());
    return t;
  }

  // Visits every field of `obj`, refusing duplicate keys. `on_field(key, value)` returns true
  // when it consumed the value; otherwise the value is validated generically.
  template <typename OnField>
  void walk_object(od::object& obj, const std::string& path, size_t depth, OnField&& on_field) {
    if (depth > kMaxNestingDepth)
      throw Invalid{path, fmt::format("nested deeper than {} levels", kMaxNestingDepth)};
    const size_t mark = keys_.size();
    for (auto field_result : obj) {
      od::field field;
      check(std::move(field_result).get(field), nullptr);
      const char* key_at = field.key().raw();
      std::string_view key;
      check(field.unescaped_key().get(key), key_at);
      keys_.push_back(key);
      od::value& value = field.value();
      if (!on_field(key, value)) walk(value, join(path, key), depth + 1);
    }
    // Children truncate the stack back to their own mark, so [mark, end) is this object's keys.
    auto begin = keys_.begin() + static_cast<std::ptrdiff_t>(mark);
    std::sort(begin, keys_.end());
    auto dup = std::adjacent_find(begin, keys_.end());
    if (dup != keys_.end())
      throw Invalid{join(path, *dup), "duplicate key: each key may appear only once in an object"};
    keys_.resize(mark);
  }

  // Validates any JSON value completely (numbers by the JSON grammar, so big or precise
  // numbers pass through untouched).
  void walk(od::value& v, const std::string& path, size_t depth) {
    const char* at = v.raw_json_token().data();
    switch (type_of(v)) {
      case od::json_type::object: {
        od::object obj;
        check(v.get_object().get(obj), at);
        walk_object(obj, path, depth, [](std::string_view, od::value&) { return false; });
        break;
      }
      case od::json_type::array: {
        if (depth > kMaxNestingDepth)
          throw Invalid{path, fmt::format("nested deeper than {} levels", kMaxNestingDepth)};
        od::array arr;
        check(v.get_array().get(arr), at);
        size_t index = 0;
        for (auto element_result : arr) {
          od::value element;
          check(std::move(element_result).get(element), nullptr);
          walk(element, fmt::format("{}[{}]", path, index++), depth + 1);
        }
        break;
      }
      case od::json_type::string: {
        std::string_view s;
        check(v.get_string().get(s), at);
        break;
      }
      case od::json_type::number:
        if (!is_json_number(trim_json_space(v.raw_json_token())))
          json_error(simdjson::NUMBER_ERROR, at);
        break;
      case od::json_type::boolean: {
        bool b = false;
        if (v.get_bool().get(b)) json_error(kBadLiteral, at);
        break;
      }
      case od::json_type::null: {
        bool is_null = false;
        if (v.is_null().get(is_null) || !is_null) json_error(kBadLiteral, at);
        break;
      }
    }
  }

  // Walks an object value and returns its raw text, as written (trailing space trimmed).
  template <typename OnField>
  std::string raw_object(od::value& v, const std::string& path, OnField&& on_field) {
    const char* start = v.raw_json_token().data();
    od::object obj;
    check(v.get_object().get(obj), start);
    walk_object(obj, path, 2, on_field);
    // After the walk the iterator stands on the token after '}' (a ',' or the parent's '}').
    const char* end = nullptr;
    check(doc_.current_location().get(end), start);
    return std::string(trim_json_space(std::string_view(start, static_cast<size_t>(end - start))));
  }

  // Requires `v` to be a string; returns it, or throws naming what was found.
  std::string_view string_value(od::value& v, const std::string& field, std::string_view expected) {
    const char* at = v.raw_json_token().data();
    if (type_of(v) != od::json_type::string)
      throw Invalid{field, fmt::format("expected {}, found {}", expected, found(v, field))};
    std::string_view s;
    check(v.get_string().get(s), at);
    return s;
  }

 private:
  od::document& doc_;
  const char* base_;
  size_t base_offset_;
  std::vector<std::string_view>& keys_;
};

void check_request_id(std::string_view id) {
  constexpr std::string_view kExpected = "expected 1 to 128 characters of A-Z a-z 0-9 . _ : -";
  if (id.empty()) throw Invalid{"requestId", fmt::format("{}, found an empty string", kExpected)};
  if (id.size() > kMaxRequestIdLength)
    throw Invalid{"requestId", fmt::format("{}, found {} bytes", kExpected, id.size())};
  for (size_t i = 0; i < id.size(); ++i) {
    auto c = static_cast<unsigned char>(id[i]);
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (ok) continue;
    if (c == ' ') throw Invalid{"requestId", fmt::format("{}, found a space at position {}", kExpected, i + 1)};
    if (c > 0x20 && c < 0x7f)
      throw Invalid{"requestId", fmt::format("{}, found '{}' at position {}", kExpected, char(c), i + 1)};
    throw Invalid{"requestId", fmt::format("{}, found byte 0x{:02X} at position {}", kExpected, c, i + 1)};
  }
}

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return is_json_space(c); });
}

void add_warning(JobRequest& req, size_t& suppressed, std::string text) {
  if (req.warnings.size() < kMaxWarnings) req.warnings.push_back(std::move(text));
  else ++suppressed;
}

// dataSource / dataDestination: pass-through objects that must name their descriptor.
std::string read_data_source(Walker& w, od::value& v, const std::string& name) {
  bool has_descriptor = false;
  std::string raw = w.raw_object(v, name, [&](std::string_view key, od::value& value) {
    if (key != "dataSourceDescriptor") return false;
    std::string field = name + ".dataSourceDescriptor";
    std::string_view d = w.string_value(value, field, "a non-empty string such as \"url\" or \"bypass\"");
    if (is_blank(d)) throw Invalid{field, "expected a non-empty string such as \"url\" or \"bypass\", found an empty string"};
    has_descriptor = true;
    return true;
  });
  if (!has_descriptor)
    throw Invalid{name + ".dataSourceDescriptor",
                  "required field is missing: expected a string such as \"url\" or \"bypass\""};
  return raw;
}

// config: the run body. Known fields are type-checked; unknown ones pass through with a warning.
std::string read_config(Walker& w, od::value& v, JobRequest& req, size_t& suppressed) {
  return w.raw_object(v, "config", [&](std::string_view key, od::value& value) {
    std::string field = join("config", key);
    if (key == "taskTimeout" || key == "jobTimeout") {
      const char* at = value.raw_json_token().data();
      od::json_type t = w.type_of(value);
      if (t == od::json_type::null) return false;
      if (t != od::json_type::number)
        throw Invalid{field, fmt::format("expected a non-negative integer (seconds), found {}", w.found(value, field))};
      std::string_view text = trim_json_space(value.raw_json_token());
      if (!is_json_number(text)) w.json_error(simdjson::NUMBER_ERROR, at);
      uint64_t seconds = 0;
      if (value.get_uint64().get(seconds))
        throw Invalid{field, fmt::format("expected a non-negative integer (seconds), found {}",
                                         printable(text.substr(0, 40)))};
      return true;
    }
    if (key == "isTestJob") {
      od::json_type t = w.type_of(value);
      if (t == od::json_type::null) return false;
      if (t != od::json_type::boolean)
        throw Invalid{field, fmt::format("expected true or false, found {}", w.found(value, field))};
      return false;  // the generic walk validates the literal
    }
    add_warning(req, suppressed, fmt::format("unknown field \"{}\" passed through to the run call", field));
    return false;
  });
}

void read_fields(Walker& w, od::object& root, JobRequest& req) {
  bool has_template = false;
  size_t suppressed = 0;
  auto optional_string = [&](od::value& v, std::string_view key, std::string& out) {
    if (w.type_of(v) == od::json_type::null) return w.walk(v, std::string(key), 1);
    out = w.string_value(v, std::string(key), "a string");
  };
  auto optional_object = [&](od::value& v, std::string_view key, auto&& read) {
    od::json_type t = w.type_of(v);
    if (t == od::json_type::null) return w.walk(v, std::string(key), 1);
    if (t != od::json_type::object)
      throw Invalid{std::string(key), fmt::format("expected an object, found {}", w.found(v, std::string(key)))};
    read();
  };
  w.walk_object(root, "", 1, [&](std::string_view key, od::value& v) {
    if (key == "templateId") {
      std::string_view id = w.string_value(v, "templateId", "a non-empty string");
      if (is_blank(id)) throw Invalid{"templateId", "expected a non-empty string, found an empty string"};
      req.template_id.assign(id);
      has_template = true;
    } else if (key == "requestId") {
      if (w.type_of(v) == od::json_type::null) return false;
      std::string_view id = w.string_value(v, "requestId", "a string of 1 to 128 characters of A-Z a-z 0-9 . _ : -");
      check_request_id(id);
      req.request_id.assign(id);
    } else if (key == "name") {
      optional_string(v, key, req.name);
    } else if (key == "description") {
      optional_string(v, key, req.description);
    } else if (key == "dataSource") {
      optional_object(v, key, [&] { req.data_source_json = read_data_source(w, v, "dataSource"); });
    } else if (key == "dataDestination") {
      optional_object(v, key, [&] { req.data_destination_json = read_data_source(w, v, "dataDestination"); });
    } else if (key == "params") {
      optional_object(v, key, [&] {
        req.params_json = w.raw_object(v, "params", [](std::string_view, od::value&) { return false; });
      });
    } else if (key == "config") {
      optional_object(v, key, [&] { req.config_json = read_config(w, v, req, suppressed); });
    } else {
      add_warning(req, suppressed, fmt::format("unknown field \"{}\" ignored", printable(key)));
      return false;
    }
    return true;
  });
  if (!has_template)
    throw Invalid{"templateId", "required field is missing: expected a non-empty string"};
  if (suppressed > 0) req.warnings.push_back(fmt::format("and {} more warnings", suppressed));
}

// Why a document that simdjson refused at its root was refused, in a person's terms.
[[noreturn]] void root_error(simdjson::error_code e, std::string_view text, size_t base_offset) {
  size_t end = json_value_end(text);
  if (end != std::string_view::npos && !is_blank(text.substr(end))) {
    size_t extra = end;
    while (is_json_space(text[extra])) ++extra;
    throw Invalid{"", fmt::format("trailing content after the JSON object at byte {}", extra + base_offset + 1)};
  }
  if (e == simdjson::UNESCAPED_CHARS) {
    size_t at = first_unescaped_control(text);
    std::string where = at == std::string_view::npos ? "" : fmt::format(" near byte {}", at + base_offset + 1);
    throw Invalid{"", fmt::format("not valid JSON: a control character inside a string must be escaped{}", where)};
  }
  throw Invalid{"", fmt::format("not valid JSON: {}", simdjson::error_message(e))};
}

JobRequest parse_or_throw(std::string_view text, uint64_t line, od::parser& parser, Scratch& scratch) {
  size_t bom = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // editors on Windows write one
  text.remove_prefix(bom);
  if (is_blank(text)) throw Invalid{"", "empty input: expected a JSON object"};
  if (!simdjson::validate_utf8(text.data(), text.size()))
    throw Invalid{"", fmt::format("not valid UTF-8: invalid byte sequence at byte {}",
                                  first_invalid_utf8(text) + bom + 1)};
  // Copy into the reused padded buffer (resize only grows the capacity once).
  scratch.padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(scratch.padded.data(), text.data(), text.size());
  std::memset(scratch.padded.data() + text.size(), ' ', simdjson::SIMDJSON_PADDING);
  scratch.keys.clear();

  od::document doc;
  auto e = parser.iterate(scratch.padded.data(), text.size(), scratch.padded.size()).get(doc);
  if (e) root_error(e, text, bom);
  Walker w(doc, scratch.padded.data(), bom, scratch.keys);
  od::json_type type{};
  if ((e = doc.type().get(type))) root_error(e, text, bom);
  if (type != od::json_type::object)
    throw Invalid{"", fmt::format("expected a JSON object, found {}", type_name(type))};
  od::object root;
  if ((e = doc.get_object().get(root))) root_error(e, text, bom);

  JobRequest req;
  req.line = line;
  read_fields(w, root, req);
  const char* rest = nullptr;
  if (!doc.current_location().get(rest))  // still inside the input: something follows '}'
    throw Invalid{"", fmt::format("trailing content after the JSON object at byte {}", w.position(rest))};
  return req;
}

}  // namespace

ParseOutcome parse_request(std::string_view text, uint64_t line, od::parser& parser) {
  try {
    return parse_or_throw(text, line, parser, tls_scratch);
  } catch (Invalid& e) {
    return RequestError{line, std::move(e.field), std::move(e.message)};
  }
}

ParseOutcome RequestParser::parse(std::string_view text, uint64_t line) {
  return parse_request(text, line, parser_);
}

std::string to_string(const RequestError& error) {
  std::string out;
  if (error.line > 0) out = fmt::format("line {}: ", error.line);
  if (!error.field.empty()) out += fmt::format("field \"{}\": ", error.field);
  return out + error.message;
}

bool is_valid_utf8(std::string_view text) { return simdjson::validate_utf8(text.data(), text.size()); }

}  // namespace submitd::spool
