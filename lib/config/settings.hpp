// Role: the daemon's settings as plain structs with their documented defaults. Only the
// daemon's top level reads config files (config/load.hpp); libraries take these structs, so
// they can be built in tests without any file. Every field mirrors a documented key of
// config/example.toml; the key's name is part of the contract.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace submitd::config {

// [api]: where and how to reach the ByteNite Customer API.
struct ApiSettings {
  // api.base_url as written, kept for logs; host/port/base_path are what it parsed into.
  std::string base_url = "https://api.bytenite.com/v1";
  std::string host = "api.bytenite.com";  // lower-cased; an IPv6 literal without brackets
  uint16_t port = 443;
  std::string base_path = "/v1";           // "" or "/seg[/seg...]", never a trailing '/'
  std::string customer_path = "customer";  // one path segment ("customer", later "computing")
  std::optional<std::filesystem::path> api_key_file;  // unset: credentials dir, then env
  std::optional<std::filesystem::path> ca_file;       // unset: the system trust store
  uint32_t connections = 32;                          // TLS keep-alive pool size
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  uint32_t max_inflight = 256;  // requests worked at once (each at some API step)
  // Retries of transient trouble: capped exponential backoff with full jitter.
  std::chrono::milliseconds retry_base{200};
  std::chrono::milliseconds retry_cap{30000};
  std::chrono::seconds retry_after_cap{300};  // a Retry-After longer than this is cut to it
  // A refused API key or server certificate: tried again this often, not per request.
  std::chrono::seconds blocked_retry{60};
  uint32_t retry_budget_percent = 50;         // retries per 100 fresh calls, at most
  uint32_t retry_budget_min_per_second = 10;  // retries always allowed per second
  uint32_t rate_limit_per_second = 0;         // API calls per second; 0 = unlimited
  bool adaptive = true;                       // find the account's rate below that ceiling
  // SIGTERM: how long calls in flight may finish before the daemon exits anyway (safe:
  // unfinished requests resume at the next start). Keep below the unit's TimeoutStopSec.
  std::chrono::seconds shutdown_grace{20};

  // "/v1/customer": the prefix of every job endpoint ("/v1/customer/jobs", ...).
  std::string customer_prefix() const;
  // The HTTP Host header / TLS authority: "host" or "host:port", brackets around IPv6.
  std::string authority() const;
};

// [spool]: the directory producers drop request files into.
struct SpoolSettings {
  std::filesystem::path dir;                 // required, absolute
  uint64_t max_request_bytes = 1024 * 1024;  // a .json file, or one .jsonl line
  std::chrono::milliseconds rescan_interval{2000};
  uint32_t max_active_files = 64;             // files worked at once (claimed from incoming/)
  // Below this much free space (on the spool's or the state's file system) no new work is
  // claimed, so accepted work keeps room for its outcomes; 0 = stop only when a write fails.
  uint64_t min_free_bytes = 64ull * 1024 * 1024;
  std::chrono::days done_retention{7};        // prune done/ files older than this; 0 = never prune
  std::chrono::seconds give_up_after{86400};  // transient trouble older than this fails
};

// [state]: the daemon's own durable state (journal, requestId index, lock).
struct StateSettings {
  std::filesystem::path dir;  // default <spool.dir>/state, filled in by the loader
  bool fsync = true;  // false only to measure what durability costs (journal commits unsynced)
};

// [control]: the local HTTP-over-Unix-socket control interface.
struct ControlSettings {
  std::optional<std::filesystem::path> socket;  // unset: no control socket
  std::optional<std::string> group;             // group of the socket file; unset: the daemon's
  uint64_t max_backlog_files = 10000;           // POST /v1/jobs answers 503 above this
  uint32_t max_connections = 256;  // served at once; one more gets 503 (bounded by descriptors)
};

// [metrics]: the Prometheus endpoint.
struct MetricsSettings {
  std::string listen = "127.0.0.1:9464";  // as written; "" disables
  bool enabled = true;
  std::string host = "127.0.0.1";  // IPv6 literal without brackets
  uint16_t port = 9464;            // 0: an ephemeral port
};

enum class LogLevel { debug, info, warning, error };

// [log]
struct LogSettings {
  LogLevel level = LogLevel::info;
};

// [submit]: submission policy and cost guard-rails.
struct SubmitSettings {
  std::chrono::days request_id_retention{7};  // how long a requestId stays an idempotency key
  bool force_test_jobs = false;               // send every run with isTestJob=true
  uint32_t max_jobs_per_minute = 0;           // cost cap on runs sent per minute; 0 = none
};

// [follow]: job following (off by default): every submitted job is read until it ends.
struct FollowSettings {
  bool enabled = false;
  std::chrono::seconds poll_interval{30};     // one poll round per interval
  uint32_t max_followed = 10000;              // jobs followed in memory at once; more wait on disk
  std::chrono::seconds give_up_margin{3600};  // past the job's own jobTimeout
};

// [upload]: local files that requests name in "inputFile", uploaded as their jobs' input.
struct UploadSettings {
  std::optional<std::filesystem::path> dir;         // relative inputFile paths resolve here; unset: refused
  std::vector<std::filesystem::path> allowed_dirs;  // an absolute inputFile must lie under one of these
  uint64_t max_bytes = 5ull * 1024 * 1024 * 1024;   // larger inputs are refused at validation
  uint32_t max_concurrent = 4;                      // uploads at once
  // An upload that moves no byte for this long (connecting, each write, the answer) is cut
  // and retried: a deadline per phase, since a whole upload's time grows with its size.
  std::chrono::seconds stall_timeout{60};
};

// Results brought home (issue 19): with following on and download_dir set, each result of a
// completed job is fetched into download_dir/<requestId>/<name>.
struct ResultsSettings {
  std::optional<std::filesystem::path> download_dir;  // unset: results are not downloaded
  uint32_t max_concurrent = 4;                        // downloads at once
  uint64_t max_bytes_per_second = 0;                  // all downloads together; 0: no limit
  // A result larger than this is not kept (a hostile or broken server must not fill the disk).
  uint64_t max_bytes = 64ull * 1024 * 1024 * 1024;
};

// The JetStream intake (issue 20): a fleet of daemons shares one durable pull consumer of one
// stream; each message is one request. Off unless `servers` is set.
struct JetStreamSettings {
  std::vector<std::string> servers;  // nats:// or tls:// URLs; empty: no JetStream intake
  std::string stream;
  std::string consumer;              // durable pull consumer shared by the fleet
  std::string subject;               // filter; empty: the stream's subjects
  std::optional<std::filesystem::path> creds_file;
  std::optional<std::filesystem::path> ca_file;
  uint32_t batch = 64;                           // messages asked for per pull, at most
  std::chrono::seconds ack_wait{60};             // unacked this long: delivered again elsewhere
  uint32_t max_deliver = 5;                      // deliveries before a message ends failed
  std::string job_namespace;                     // UUID shared by the fleet (jobIds of messages)
  std::string kv_bucket;                         // fleet-wide requestId index; empty: local only
  std::string outcome_subject = "bytenite.outcomes";
  bool enabled() const { return !servers.empty(); }
};

struct Settings {
  ApiSettings api;
  SpoolSettings spool;
  StateSettings state;
  ControlSettings control;
  MetricsSettings metrics;
  LogSettings log;
  SubmitSettings submit;
  FollowSettings follow;
  UploadSettings upload;
  ResultsSettings results;
  JetStreamSettings jetstream;  // [intake.jetstream]
};

std::string_view to_string(LogLevel level);

}  // namespace submitd::config
