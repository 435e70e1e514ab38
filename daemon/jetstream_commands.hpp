// Role: `bytenite-submit jetstream init`: makes what a JetStream fleet needs on its cluster,
// from the daemon's [intake.jetstream] settings, so no `nats` CLI is needed: the request
// stream (a work queue), the durable pull consumer the fleet shares, the outcome stream on
// outcome_subject (which keeps each outcome once, by its Nats-Msg-Id) and, when kv_bucket is
// set, the requestId index. What exists already is left as it is and said so.
#pragma once

#include <string>
#include <vector>

#include "submit_commands.hpp"

namespace submitd::cli_main {

struct JetStreamInitOptions {
  int replicas = 3;                   // copies of each stream and the bucket (1 for one server)
  std::vector<std::string> subjects;  // the request stream's; default: intake.jetstream.subject
  std::string outcome_stream = "OUTCOMES";
};

int run_jetstream_init(const CliOptions& o, const JetStreamInitOptions& init);

}  // namespace submitd::cli_main
