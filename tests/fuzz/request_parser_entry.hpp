// Role: the one fuzz entry shared by the libFuzzer target and the corpus replay test, so the
// committed corpus is exercised by every build, fuzzing or not.
#pragma once

#include <cstddef>
#include <cstdint>

namespace submitd::fuzz {

// Feeds `data` through parse_request (as one .json request) and through JsonlReader (as a
// .jsonl file, each line parsed too), checking invariants; aborts on a violation.
int request_parser_one_input(const uint8_t* data, size_t size);

}  // namespace submitd::fuzz
