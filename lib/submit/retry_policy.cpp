// Role: outcome classification and retry timing (see retry_policy.hpp).
#include "submit/retry_policy.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

#include "api/api_error.hpp"

namespace submitd::submit {

Verdict classify(const api::ApiReply& reply) {
  if (reply.token_unavailable) return Verdict::transient;
  const auto& h = reply.http;
  if (!h.has_response()) return Verdict::transient;
  int s = h.status;
  if (s >= 200 && s < 300) return Verdict::success;
  // A redirect is configuration trouble (a moved API, a proxy's login page), like a refused
  // certificate: never followed (the token must not travel), never a request's failure.
  if (is_redirect(s)) return Verdict::transient;
  // 401 here means a fresh token was refused too: trouble with the key, not the request.
  if (s == 401 || s == 408 || s == 425 || s == 429 || s >= 500) return Verdict::transient;
  return Verdict::final_failure;
}

std::string retry_reason(const api::ApiReply& reply) {
  if (reply.token_unavailable) return "token";
  const auto& h = reply.http;
  if (!h.has_response()) {
    // A refused certificate is TLS trouble too; the label set stays small and fixed.
    if (h.failure == api::TransportFailure::certificate) return "tls";
    return std::string(api::transport_failure_name(h.failure));
  }
  if (h.status == 429) return "429";
  if (is_redirect(h.status)) return "redirect";
  if (h.status == 401) return "401";
  if (h.status >= 500) return "5xx";
  return "other";
}

std::string describe_failure(const api::ApiReply& reply) {
  if (reply.token_unavailable) return reply.token_error;
  const auto& h = reply.http;
  if (!h.has_response()) return h.failure_detail;
  if (is_redirect(h.status)) {
    return "the API answered HTTP " + std::to_string(h.status) +
           " (a redirect, not followed: the token must not travel); check api.base_url and any proxy in between";
  }
  return api::parse_api_error(h.status, h.body).message;
}

std::chrono::milliseconds backoff_delay(const RetryTiming& t, int attempt, double jitter) {
  double exp = std::ldexp(static_cast<double>(t.base.count()), std::clamp(attempt - 1, 0, 30));
  double ceiling = std::min(exp, static_cast<double>(t.cap.count()));
  // Full jitter: spreads a crowd of retries evenly instead of in synchronized waves.
  return std::chrono::milliseconds(static_cast<std::int64_t>(ceiling * std::clamp(jitter, 0.0, 1.0)));
}

std::chrono::milliseconds transient_delay(const RetryTiming& t, int retries_in_row, const api::ApiReply& reply,
                                          WallTime now, double jitter) {
  std::chrono::milliseconds delay = backoff_delay(t, retries_in_row, jitter);
  const auto& h = reply.http;
  if (reply.key_rejected || h.failure == api::TransportFailure::certificate ||
      (h.has_response() && is_redirect(h.status))) {
    delay = std::max(delay, t.blocked_delay);
  }
  if (h.has_response() && !h.retry_after.empty()) {
    delay = std::max(delay, retry_after_delay(h.retry_after, now, t.retry_after_cap));
  }
  return delay;
}

std::chrono::milliseconds retry_after_delay(std::string_view header, WallTime now,
                                            std::chrono::milliseconds cap) {
  using namespace std::chrono;
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  if (header.empty()) return milliseconds(0);
  const std::int64_t cap_s = duration_cast<seconds>(cap).count();
  std::int64_t secs = 0;
  auto [p, ec] = std::from_chars(header.data(), header.data() + header.size(), secs);
  if (p == header.data() + header.size() && header.front() != '-' &&
      (ec == std::errc{} || ec == std::errc::result_out_of_range)) {
    // Compare in seconds before converting: a huge value must not overflow into a negative.
    if (ec == std::errc::result_out_of_range || secs > cap_s) return cap;
    return std::clamp(milliseconds(secs * 1000), milliseconds(0), cap);
  }
  // IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT". Computed in time_t seconds: a date
  // centuries away must not overflow the clock's nanosecond range.
  std::tm tm{};
  std::string text(header);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return milliseconds(0);
  const std::int64_t when_s = timegm(&tm);
  const std::int64_t now_ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  const std::int64_t now_s = now_ms / 1000;
  if (when_s <= now_s) return milliseconds(0);
  if (when_s - now_s > cap_s + 1) return cap;
  return std::clamp(milliseconds((when_s - now_s) * 1000 - now_ms % 1000), milliseconds(0), cap);
}

}  // namespace submitd::submit
