// Role: shorthands for the request parser tests: parse text, and assert the outcome's kind.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "spool/request_parser.hpp"

namespace submitd::spool::testing {

inline ParseOutcome parse(std::string_view text, uint64_t line = 1) {
  static simdjson::ondemand::parser parser;
  return parse_request(text, line, parser);
}

inline JobRequest accepted(std::string_view text) {
  ParseOutcome out = parse(text);
  if (auto* e = std::get_if<RequestError>(&out)) {
    ADD_FAILURE() << "refused: " << to_string(*e) << "\ninput: " << text;
    return {};
  }
  return std::get<JobRequest>(out);
}

// The one-line rendering of the error `text` must cause (as line 3, to check the prefix).
inline std::string refused(std::string_view text) {
  ParseOutcome out = parse(text, 3);
  if (auto* e = std::get_if<RequestError>(&out)) return to_string(*e);
  ADD_FAILURE() << "accepted: " << text;
  return {};
}

}  // namespace submitd::spool::testing
