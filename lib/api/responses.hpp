// Role: reads the success bodies the daemon needs from the API (the token grant, a job's
// state) defensively: any body, however malformed, gives a value or "nothing usable" and
// never throws. Error bodies are api_error's job. Both are fuzzed (tests/fuzz).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace submitd::api {

// Parses {"token": "...", "expiresIn": "3600"} (expiresIn as a string or a number, > 0).
// Returns nullopt when the body is not such an object.
struct TokenGrant {
  std::string token;
  std::chrono::seconds lifetime{0};
};
std::optional<TokenGrant> parse_token_response(std::string_view body);

// Reads job.state from a GET /jobs/{id} body; empty when absent or not a string.
std::string job_state_from_body(std::string_view body);

}  // namespace submitd::api
