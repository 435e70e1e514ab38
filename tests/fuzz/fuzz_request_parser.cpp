// Role: the libFuzzer target for job requests (.json and .jsonl); see request_parser_entry.cpp.
#include <cstddef>
#include <cstdint>

#include "request_parser_entry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return submitd::fuzz::request_parser_one_input(data, size);
}
