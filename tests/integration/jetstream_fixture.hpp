// Role: what the JetStream intake tests share: a three-node NATS cluster (nats_cluster.hpp)
// with the request stream "REQ" (R3 work queue, subjects req.>, shared consumer "fleet") and
// the outcome stream "OUT" on bytenite.outcomes with a reader of its own; a daemon's
// [intake.jetstream] config for them; and the checks: one outcome per stream sequence, each
// submitted one naming the job UUIDv5(fleet, "REQ:<seq>") that ran exactly once.
#pragma once

#include <simdjson.h>

#include <chrono>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"
#include "jetstream/jetstream_client.hpp"
#include "nats_cluster.hpp"

namespace submitd::testing {

class JetStreamFixture : public TempDirTest {
 protected:
  static constexpr const char* kFleet = "0f6d1a52-5c3e-4c1b-9a7e-2b8f3c4d5e6f";

  explicit JetStreamFixture(std::string tag) : TempDirTest(std::move(tag)) {}
  void SetUp() override;
  void TearDown() override;

  void make_streams(std::chrono::seconds ack_wait, int max_deliver);
  // [api] max_inflight and [intake.jetstream] for the streams above; `more` goes into the
  // [intake.jetstream] table. Metrics on a free port.
  std::string daemon_toml(std::chrono::seconds ack_wait, int max_deliver, const std::string& more = "",
                          int max_inflight = 16) const;
  // request_line(n) for n in [first, first + count), as messages (pipelined in batches).
  void publish_requests(int first, int count);
  // Reads what reached the outcome subject since the last call into outcomes_ (by sequence;
  // a followed job's final record into finals_).
  // A cluster that is away ends the read early (it is read again on the next call).
  void read_outcomes();
  bool outcomes_reach(std::size_t n, std::chrono::milliseconds timeout);
  // The consumer has nothing undelivered and nothing unacked (within 30 s).
  bool nothing_pending();
  static std::string job_of(std::uint64_t seq);
  // Every sequence in [1, n] has exactly one outcome; each submitted one names its job, which
  // ran exactly once; and the emulator holds `expected_jobs` jobs in all.
  void expect_exactly_once(Emulator& emulator, std::uint64_t n, std::uint64_t expected_jobs);

  std::unique_ptr<NatsCluster> cluster_;
  std::unique_ptr<jetstream::Client> client_;
  std::unique_ptr<jetstream::PullConsumer> reader_;
  std::map<std::uint64_t, std::vector<std::string>> outcomes_;  // by REQ sequence
  std::map<std::uint64_t, std::vector<std::string>> finals_;    // records with "final" (job following)
  std::set<std::uint64_t> seen_;                                 // OUT sequences read
  simdjson::dom::parser parser_;
};

}  // namespace submitd::testing
