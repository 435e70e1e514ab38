// Role: a complete, strict walk over a simdjson On-Demand document. On-Demand validates only
// what is visited, and the pass-through objects of a request must reach the API as valid
// JSON, so every value is visited. The walk also refuses duplicate keys (JSON parsers resolve
// them silently and differently), bounds nesting, keeps the dotted path of the value being
// read (for error messages) and cuts out the raw text of an object as written.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "spool/request_parser.hpp"  // kMaxNestingDepth

namespace submitd::spool {

// A refusal found during the walk; parse_request turns it into a RequestError.
struct Invalid {
  std::string field;  // dotted path, "" for the document as a whole
  std::string message;
};

// Buffers reused from request to request (one set per thread), so a walk allocates nothing.
struct WalkScratch {
  std::string padded;                  // the input, copied with simdjson's padding
  std::vector<std::string_view> keys;  // keys of the objects being walked, as a stack
  std::string path;                    // dotted path of the current value, e.g. "params.app"
};

std::string_view type_name(simdjson::ondemand::json_type t);

class JsonWalker {
 public:
  using value = simdjson::ondemand::value;

  // `base` is the start of the parsed buffer; `base_offset` the bytes cut from the caller's
  // text before it (a byte order mark), so positions refer to the caller's text.
  JsonWalker(simdjson::ondemand::document& doc, const char* base, size_t base_offset,
             WalkScratch& scratch);

  // 1-based byte position in the caller's text.
  size_t position(const char* p) const { return static_cast<size_t>(p - base_) + base_offset_ + 1; }

  // The dotted path of the value being read ("" at the root).
  const std::string& path() const { return scratch_.path; }

  // Throws "not valid JSON: <what> near byte N". `hint` is the start of the value being read,
  // or null for structural errors, where the iterator's own position is the better answer.
  [[noreturn]] void json_error(std::string_view what, const char* hint);
  [[noreturn]] void json_error(simdjson::error_code e, const char* hint);
  void check(simdjson::error_code e, const char* hint) {
    if (e) json_error(e, hint);
  }

  // Throws Invalid at the current path.
  [[noreturn]] void refuse(std::string message) const;
  [[noreturn]] void refuse_too_deep() const;

  simdjson::ondemand::json_type type_of(value& v);

  // Validates any value completely. Numbers are checked against the JSON grammar rather
  // than converted, so big or precise numbers pass through untouched.
  void walk(value& v, size_t depth);

  // The type name of a value about to be refused for its type. The value is validated
  // first, so a broken literal ("tru") is reported as broken JSON, not as a boolean.
  std::string_view found(value& v);

  // Requires a string; returns it unescaped, or refuses with "expected <expected>, found <type>".
  std::string_view string_value(value& v, std::string_view expected);

  // Visits every field of the object `v` (path extended by each key while it is visited),
  // refusing duplicate keys. `on_field(key, value)` returns true when it consumed the value;
  // otherwise the value is walked generically. Returns the object's raw text as written.
  template <typename OnField>
  std::string_view walk_object(value& v, size_t depth, OnField&& on_field);

  // The same for the document's root object; returns nothing (the root is not passed on).
  template <typename OnField>
  void walk_root(simdjson::ondemand::object& root, OnField&& on_field) {
    walk_fields(root, 1, on_field);
  }

 private:
  template <typename OnField>
  void walk_fields(simdjson::ondemand::object& obj, size_t depth, OnField& on_field);
  void push_key(std::string_view key);
  void check_duplicates(size_t mark);

  simdjson::ondemand::document& doc_;
  const char* base_;
  size_t base_offset_;
  WalkScratch& scratch_;
};

template <typename OnField>
void JsonWalker::walk_fields(simdjson::ondemand::object& obj, size_t depth, OnField& on_field) {
  if (depth > kMaxNestingDepth) refuse_too_deep();
  const size_t mark = scratch_.keys.size();
  const size_t path_mark = scratch_.path.size();
  for (auto field_result : obj) {
    simdjson::ondemand::field field;
    check(std::move(field_result).get(field), nullptr);
    const char* key_at = field.key().raw();
    std::string_view key;
    check(field.unescaped_key().get(key), key_at);
    scratch_.keys.push_back(key);
    push_key(key);
    if (!on_field(key, field.value())) walk(field.value(), depth + 1);
    scratch_.path.resize(path_mark);
  }
  // Children cut the stack back to their own mark, so [mark, end) holds this object's keys.
  check_duplicates(mark);
}

template <typename OnField>
std::string_view JsonWalker::walk_object(value& v, size_t depth, OnField&& on_field) {
  const char* start = v.raw_json_token().data();
  simdjson::ondemand::object obj;
  check(v.get_object().get(obj), start);
  walk_fields(obj, depth, on_field);
  // After the walk the iterator stands on the token after '}' (a ',' or the parent's '}').
  const char* end = nullptr;
  check(doc_.current_location().get(end), start);
  std::string_view raw(start, static_cast<size_t>(end - start));
  while (!raw.empty() &&
         (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\n' || raw.back() == '\r'))
    raw.remove_suffix(1);
  return raw;
}

}  // namespace submitd::spool
