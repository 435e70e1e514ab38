// Role: the non-template parts of the strict On-Demand walk (see request_walker.hpp).
#include "spool/request_walker.hpp"

#include <algorithm>

#include <fmt/format.h>

#include <iterator>

#include "spool/request_json_text.hpp"

namespace submitd::spool {

namespace od = simdjson::ondemand;

namespace {
constexpr std::string_view kBadLiteral = "invalid literal (expected true, false or null)";
}  // namespace

std::string_view type_name(od::json_type t) {
  switch (t) {
    case od::json_type::array:
      return "array";
    case od::json_type::object:
      return "object";
    case od::json_type::number:
      return "number";
    case od::json_type::string:
      return "string";
    case od::json_type::boolean:
      return "boolean";
    case od::json_type::null:
      return "null";
  }
  return "unknown";
}

JsonWalker::JsonWalker(od::document& doc, const char* base, size_t base_offset,
                       WalkScratch& scratch)
    : doc_(doc), base_(base), base_offset_(base_offset), scratch_(scratch) {
  scratch_.keys.clear();
  scratch_.path.clear();
}

void JsonWalker::json_error(simdjson::error_code e, const char* hint) {
  json_error(simdjson::error_message(e), hint);
}

void JsonWalker::json_error(std::string_view what, const char* hint) {
  const char* at = hint;
  auto loc = doc_.current_location();
  if (!at && !loc.error()) at = loc.value_unsafe();
  if (!at) throw Invalid{"", fmt::format("not valid JSON: {}", what)};
  throw Invalid{"", fmt::format("not valid JSON: {} near byte {}", what, position(at))};
}

void JsonWalker::refuse(std::string message) const {
  throw Invalid{scratch_.path, std::move(message)};
}

void JsonWalker::refuse_too_deep() const {
  refuse(fmt::format("nested deeper than {} levels", kMaxNestingDepth));
}

od::json_type JsonWalker::type_of(value& v) {
  od::json_type t{};
  check(v.type().get(t), v.raw_json_token().data());
  return t;
}

void JsonWalker::push_key(std::string_view key) {
  // Made printable here, once: the path only ever ends up in messages.
  std::string& path = scratch_.path;
  if (!path.empty()) path += '.';
  append_printable(path, key);
}

void JsonWalker::check_duplicates(size_t mark) {
  auto& keys = scratch_.keys;
  auto begin = keys.begin() + static_cast<std::ptrdiff_t>(mark);
  std::sort(begin, keys.end());
  auto dup = std::adjacent_find(begin, keys.end());
  if (dup != keys.end()) {
    push_key(*dup);
    refuse("duplicate key: each key may appear only once in an object");
  }
  keys.resize(mark);
}

void JsonWalker::walk(value& v, size_t depth) {
  const char* at = v.raw_json_token().data();
  switch (type_of(v)) {
    case od::json_type::object:
      walk_object(v, depth, [](std::string_view, value&) { return false; });
      break;
    case od::json_type::array: {
      if (depth > kMaxNestingDepth) refuse_too_deep();
      od::array arr;
      check(v.get_array().get(arr), at);
      const size_t path_mark = scratch_.path.size();
      size_t index = 0;
      for (auto element_result : arr) {
        od::value element;
        check(std::move(element_result).get(element), nullptr);
        fmt::format_to(std::back_inserter(scratch_.path), "[{}]", index++);
        walk(element, depth + 1);
        scratch_.path.resize(path_mark);
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

std::string_view JsonWalker::found(value& v) {
  od::json_type t = type_of(v);
  walk(v, 2);
  return type_name(t);
}

std::string_view JsonWalker::string_value(value& v, std::string_view expected) {
  const char* at = v.raw_json_token().data();
  if (type_of(v) != od::json_type::string)
    refuse(fmt::format("expected {}, found {}", expected, found(v)));
  std::string_view s;
  check(v.get_string().get(s), at);
  return s;
}

}  // namespace submitd::spool
