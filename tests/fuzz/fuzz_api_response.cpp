// Role: the libFuzzer target for API responses (error bodies, token grant, job state,
// Retry-After); see api_response_entry.cpp.
#include <cstddef>
#include <cstdint>

#include "api_response_entry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return submitd::fuzz::api_response_one_input(data, size);
}
