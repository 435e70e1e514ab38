// Role: the outcome record of one request (a line of NAME.outcome.jsonl) and its JSON form.
// Records carry a format version ("v") so a later daemon can read what an older one wrote.
// Nothing secret goes in: no request body, no token, no key; error messages come from the API
// or from our own validation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/clock.hpp"

namespace submitd::spool {

inline constexpr int kOutcomeFormatVersion = 1;

enum class SubmitStatus { submitted, failed, duplicate };
std::string_view status_name(SubmitStatus s);

struct OutcomeError {
  std::string stage;  // validate, create, datasource, params, run
  int http_status = 0;  // 0: there was no HTTP status
  std::string message;
};

struct OutcomeRecord {
  std::uint64_t line = 0;  // 0: the whole input (unreadable file)
  std::string request_id;
  std::string job_id;
  SubmitStatus status = SubmitStatus::failed;
  WallTime accepted_at{};
  WallTime finished_at{};
  int attempts = 0;
  std::optional<OutcomeError> error;
  std::vector<std::string> warnings;
};

// One JSON object followed by '\n'.
std::string outcome_json_line(const OutcomeRecord& r);

}  // namespace submitd::spool
