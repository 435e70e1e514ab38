// Role: the one fuzz entry for API response parsing, shared by the libFuzzer target
// (fuzz_api_response) and the corpus replay test, so the committed corpus runs in every build.
#pragma once

#include <cstddef>
#include <cstdint>

namespace submitd::fuzz {

// Input layout (chosen so seeds stay readable text):
//   bytes 0-2  HTTP status: each byte is read as a decimal digit ((byte - '0') mod 10), so
//              "429" means 429 and any other bytes still give a status in 0..999
//   byte 3     knobs for retry_after_delay: bits 0-1 pick `now`, bits 2-3 pick the cap
//              ('@' 'A' 'B' 'C' = each `now` with the daemon's 300 s cap; see the .cpp)
//   bytes 4-   the response body, also used as the Retry-After header value
// Inputs shorter than 4 bytes are all body, with status 0 and knob 0.
// Every parser sees every body (parse_api_error, parse_token_response, job_state_from_body,
// retry_after_delay); properties are checked and a violation aborts.
int api_response_one_input(const uint8_t* data, size_t size);

}  // namespace submitd::fuzz
