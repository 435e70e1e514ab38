// Role: the one rule for a request's identity. A request is named "<claim id>:<line>" (its
// place in a claimed input), which is also its requestId when it brought none; its jobId is
// the UUIDv5 of that name in the installation's namespace. A resumed file therefore gets the
// same jobIds, which is what makes a retried create or a recovered request safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/uuid.hpp"

namespace submitd::spool {

inline std::string request_key(std::string_view claim_id, std::uint64_t line) {
  std::string key(claim_id);
  key += ':';
  key += std::to_string(line);
  return key;
}

inline std::string job_id_for(const Uuid& job_namespace, std::string_view claim_id, std::uint64_t line) {
  return uuid_v5(job_namespace, request_key(claim_id, line)).str();
}

}  // namespace submitd::spool
