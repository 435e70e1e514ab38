// FaultPlan: decides, per API request, whether to misbehave and how: answer 503 or 429
// without doing the work, drop the connection before or after doing the work, how long to
// delay the answer, and whether a 103 interim answer goes first. The storage endpoint (the
// tempUrl uploads) has knobs of its own: 503 before the body, a drop before it or half way
// through it, a slow read of it. Random faults use their own
// seeded RandomSource (--seed) so a run can be replayed; scripted faults (POST
// /_emulator/fail-next) are consumed first, for deterministic tests. The decision is plain
// data; the HTTP layer carries it out.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "random_source.hpp"

namespace emulator {

struct FaultKnobs {
  double fail_503 = 0.0;      // probability of answering 503 without doing the work
  double fail_429 = 0.0;      // probability of answering 429 + Retry-After, no work done
  double reset_before = 0.0;  // probability of dropping the connection, no work done
  double reset_after = 0.0;   // probability of doing the work, then dropping the connection
  int retry_after_s = 1;      // Retry-After value on 429 (and scripted 503s)
  int latency_ms = 0;         // added to every API answer
  // probability of an interim "103 Early Hints" answer before the real one (RFC 9110 says a
  // client must read past 1xx answers; a proxy or load balancer may send them)
  double interim_103 = 0.0;
  // The storage endpoint: probabilities per PUT, and a pause between the body's reads.
  double storage_fail_503 = 0.0;
  double storage_reset_before = 0.0;
  double storage_reset_mid_body = 0.0;
  double storage_slow_body = 0.0;  // probability that a body is read slowly
  int storage_slow_body_ms = 5;    // the pause per read of a slow body
};

// One scripted fault: applies to the next `count` API requests that match.
struct ScriptedFault {
  enum class Kind { status, reset_before, reset_after, reset_mid_body };  // the last: storage only
  Kind kind = Kind::status;
  int status = 500;  // for Kind::status
  int count = 1;
  std::string method;                // empty: any method
  std::string path_contains;         // empty: any path
  std::optional<int> retry_after_s;  // Retry-After header on the injected answer
};

struct FaultDecision {
  enum class Before { none, status, reset };
  Before before = Before::none;
  int status = 0;                    // when before == status
  std::optional<int> retry_after_s;  // header to send with that status
  bool reset_after = false;          // do the work, then drop the connection
  bool reset_mid_body = false;       // storage: drop the connection half way through the body
  std::chrono::milliseconds slow_body{0};  // storage: pause this long between reads of the body
  bool interim_103 = false;          // send a 103 Early Hints before the answer
  std::chrono::milliseconds latency{0};
};

class FaultPlan {
 public:
  FaultPlan(FaultKnobs knobs, std::optional<std::uint64_t> seed);

  FaultDecision decide(std::string_view method, std::string_view path);
  // For a request to the storage endpoint (scripted faults first, as for the API).
  FaultDecision decide_storage(std::string_view method, std::string_view path);

  FaultKnobs knobs() const;
  void set_knobs(const FaultKnobs& knobs);
  void add_scripted(ScriptedFault fault);
  void clear_scripted();
  std::size_t scripted_pending() const;  // sum of remaining counts

 private:
  bool draw(double probability);  // caller holds mutex_
  bool take_scripted(std::string_view method, std::string_view path, FaultDecision& d);  // caller holds mutex_

  mutable std::mutex mutex_;
  FaultKnobs knobs_;
  std::deque<ScriptedFault> scripted_;
  RandomSource random_;
};

}  // namespace emulator
