// Role: the success-body readers (see responses.hpp).
#include "api/responses.hpp"

#include <simdjson.h>

#include <charconv>
#include <cstdint>

namespace submitd::api {

std::optional<TokenGrant> parse_token_response(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) || !root.is_object()) return std::nullopt;
  std::string_view token;
  if (root["token"].get(token) || token.empty()) return std::nullopt;
  std::int64_t seconds = 0;
  auto expires = root["expiresIn"];
  if (expires.error()) return std::nullopt;
  if (expires.is_string()) {
    std::string_view text = expires.get_string().value_unsafe();
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc{} || p != text.data() + text.size()) return std::nullopt;
  } else if (expires.is_int64()) {
    seconds = expires.get_int64().value_unsafe();
  } else if (expires.is_uint64()) {
    seconds = static_cast<std::int64_t>(expires.get_uint64().value_unsafe());
  } else {
    return std::nullopt;
  }
  if (seconds <= 0) return std::nullopt;
  return TokenGrant{std::string(token), std::chrono::seconds(seconds)};
}

std::string job_state_from_body(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root)) return {};
  std::string_view state;
  if (root["job"]["state"].get(state)) return {};
  return std::string(state);
}

}  // namespace submitd::api
