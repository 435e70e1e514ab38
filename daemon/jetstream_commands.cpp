// Role: `bytenite-submit jetstream init` (see jetstream_commands.hpp).
#include "jetstream_commands.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "cli/exit_codes.hpp"
#include "jetstream/jetstream_client.hpp"
#include "jetstream/message_loop.hpp"

namespace submitd::cli_main {
namespace js = submitd::jetstream;

namespace {

void say(const std::string& what, bool created) {
  std::printf("%s %s\n", created ? "created" : "kept (exists)", what.c_str());
}

// An existing consumer is kept as it is: what differs from the config is said, and what the
// daemons would refuse to work is said as such.
// True when the daemons would refuse it.
bool report_kept_consumer(const js::Client::ConsumerCounts& seen, const config::JetStreamSettings& j) {
  if (seen.ack_wait.count() > 0 && seen.ack_wait != j.ack_wait) {
    std::printf("  note: its ack wait is %lld ms, not intake.jetstream.ack_wait_s (%lld s); the daemons follow "
                "the consumer's\n",
                static_cast<long long>(seen.ack_wait.count()), static_cast<long long>(j.ack_wait.count()));
  }
  auto problem = js::consumer_problem(j.consumer, seen.max_deliver, j.max_deliver);
  if (problem) std::printf("  problem: %s\n", problem->c_str());
  return problem.has_value();
}

}  // namespace

int run_jetstream_init(const CliOptions& o, const JetStreamInitOptions& init) {
  config::Settings settings;
  try {
    settings = config::load_settings_file(o.config);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "bytenite-submit: %s\n", e.what());
    return cli::kUsage;
  }
  const auto& j = settings.jetstream;
  if (!j.enabled()) {
    std::fprintf(stderr, "bytenite-submit: %s has no [intake.jetstream] servers: nothing to set up\n",
                 o.config.c_str());
    return cli::kUsage;
  }
  std::vector<std::string> subjects = init.subjects;
  if (subjects.empty() && !j.subject.empty()) subjects.push_back(j.subject);
  if (subjects.empty()) {
    std::fprintf(stderr, "bytenite-submit: the request stream needs subjects: set intake.jetstream.subject or give "
                         "--subject\n");
    return cli::kUsage;
  }
  bool refused = false;  // an existing consumer the daemons would not work
  try {
    js::Client client(js::ConnectSettings{j.servers, j.creds_file, j.ca_file, std::chrono::seconds(10)});
    // Outcomes are published again under the same id after a daemon dies between publish
    // and ack, up to an ack wait later: the de-duplication window covers several of those.
    const auto window = std::max<std::chrono::seconds>(std::chrono::minutes(2), 5 * j.ack_wait);
    say(fmt::format("stream {} (work queue, subjects {}, {} replicas)", j.stream, fmt::join(subjects, " "),
                    init.replicas),
        client.ensure_stream({j.stream, subjects, init.replicas, true, window}));
    const bool consumer_made =
        client.ensure_consumer({j.stream, j.consumer, j.subject, j.ack_wait, static_cast<int>(j.max_deliver)});
    say(fmt::format("consumer {} of stream {} (ack wait {} s, max deliver {})", j.consumer, j.stream,
                    j.ack_wait.count(), j.max_deliver),
        consumer_made);
    refused = !consumer_made && report_kept_consumer(client.consumer_counts(j.stream, j.consumer), j);
    say(fmt::format("stream {} (outcomes on {}, de-duplicated over {} s)", init.outcome_stream, j.outcome_subject,
                    window.count()),
        client.ensure_stream({init.outcome_stream, {j.outcome_subject}, init.replicas, false, window}));
    if (!j.kv_bucket.empty()) {
      const auto ttl = std::chrono::duration_cast<std::chrono::seconds>(settings.submit.request_id_retention);
      js::KeyValue index(client, j.kv_bucket, ttl, init.replicas);
      say(fmt::format("key-value bucket {} (requestIds kept {} days)", j.kv_bucket,
                      settings.submit.request_id_retention.count()),
          index.created());
    }
  } catch (const js::JetStreamError& e) {
    std::fprintf(stderr, "bytenite-submit: %s\n", e.what());
    return cli::kRefused;
  }
  return refused ? cli::kRefused : cli::kDone;
}

}  // namespace submitd::cli_main
