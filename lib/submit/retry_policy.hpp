// Role: how the daemon reacts to each API outcome, as plain logic: which outcomes are
// transient (deferred and retried, never failing a request before the give-up age) and which
// are final, and how long to wait (capped exponential backoff with full jitter, honouring
// Retry-After).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "api/api_client.hpp"

namespace submitd::submit {

enum class Verdict { success, transient, final_failure };

struct RetryTiming {
  std::chrono::milliseconds base{200};
  std::chrono::milliseconds cap{30000};
  std::chrono::milliseconds retry_after_cap{300000};  // a server may not park us for longer
  // A refused key or an untrusted certificate is a configuration problem: retried slowly.
  std::chrono::milliseconds blocked_delay{60000};
};

Verdict classify(const api::ApiReply& reply);

// 3xx: the API (or something in front of it) points elsewhere. Deferred like a refused
// certificate, retried only every blocked_delay, and described loudly.
inline bool is_redirect(int http_status) { return http_status >= 300 && http_status < 400; }

// The reason label for retries_total: timeout, reset, tls, connect, 429, 5xx, 401, token, redirect.
std::string retry_reason(const api::ApiReply& reply);

// What went wrong, for a person: the token trouble, the transport failure, or the API's
// error message (parsed from either body shape). Never contains the token or key.
std::string describe_failure(const api::ApiReply& reply);

// Delay before attempt number `attempt` (1 = first retry). `jitter` in [0,1) comes from the
// caller so tests are deterministic.
std::chrono::milliseconds backoff_delay(const RetryTiming& t, int attempt, double jitter);

// The wait before trying again after transient trouble: the backoff for the `retries_in_row`th
// retry, at least blocked_delay for a refused key or certificate (configuration trouble), and
// at least the server's Retry-After (capped).
std::chrono::milliseconds transient_delay(const RetryTiming& t, int retries_in_row, const api::ApiReply& reply,
                                          WallTime now, double jitter);

// Parses Retry-After as delta-seconds or an HTTP date (relative to `now`); clamped to the cap.
std::chrono::milliseconds retry_after_delay(std::string_view header, WallTime now,
                                            std::chrono::milliseconds cap);

}  // namespace submitd::submit
