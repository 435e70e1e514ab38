// Role: fuzz checks for everything the daemon reads from API responses: error bodies
// (parse_api_error), the token grant, a job's state, and the Retry-After header. Beyond "does
// not crash" it checks what callers rely on: an error message is never empty, stays short,
// printable and valid UTF-8 (it lands in outcome files and logs) and never quotes a body that
// is not JSON; a grant always has a token and a positive lifetime; a Retry-After delay stays
// in [0, cap], equals the header's seconds when it is a plain number, and moves with `now`
// by no more than `now` moved. The same bytes are also read as a whole HTTP response
// (api::ResponseReader, the transport's reader): fed at once or in two pieces it gives the
// same status, body and Retry-After, and never a body over its limit. Every parser is
// deterministic.
#include "api_response_entry.hpp"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "api/api_error.hpp"
#include "api/http_wire.hpp"
#include "api/responses.hpp"
#include "submit/follow_book.hpp"
#include "submit/retry_policy.hpp"

namespace submitd::fuzz {
namespace {

using namespace std::chrono;

[[noreturn]] void violated(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  if (!detail.empty())
    std::fprintf(stderr, "  detail (%zu bytes): %.*s\n", detail.size(), static_cast<int>(detail.size()),
                 detail.data());
  std::abort();
}

void require(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) violated(what, detail);
}

bool has_control_byte(std::string_view text) {
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) return true;
  }
  return false;
}

// api_error.cpp keeps at most this much server text, then appends "...".
constexpr size_t kServerTextLimit = 300;

void check_api_error(int status, std::string_view body) {
  api::ApiError err = api::parse_api_error(status, body);
  const std::string& message = err.message;
  std::string prefix = "HTTP " + std::to_string(status);
  require(err.http_status == status, "parse_api_error echoes the status");
  require(!message.empty(), "parse_api_error message is non-empty");
  require(message.starts_with(prefix), "parse_api_error message names the status", message);
  // "HTTP NNN: " + server text + "...", or the shorter "HTTP NNN (status text)".
  require(message.size() <= prefix.size() + 2 + kServerTextLimit + 3,
          "parse_api_error message is bounded", message);
  require(!has_control_byte(message), "parse_api_error message has no control bytes", message);
  require(simdjson::validate_utf8(message.data(), message.size()),
          "parse_api_error message is valid UTF-8", message);
  // A body with no JSON object in it (HTML from a proxy, plain text) must not leak into the
  // message: it gets the status description instead.
  if (body.find('{') == std::string_view::npos)
    require(message.starts_with(prefix + " (") && message.ends_with(")"),
            "non-JSON body gives the status description", message);
  require(api::parse_api_error(status, body).message == message, "parse_api_error is deterministic");
}

void check_token_response(std::string_view body) {
  std::optional<api::TokenGrant> grant = api::parse_token_response(body);
  if (grant) {
    require(!grant->token.empty(), "token grant has a token");
    require(std::none_of(grant->token.begin(), grant->token.end(),
                         [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }),
            "a granted token can go into a header as is", grant->token);
    require(grant->lifetime > seconds(0), "token grant has a positive lifetime");
  }
  std::optional<api::TokenGrant> again = api::parse_token_response(body);
  require(again.has_value() == grant.has_value(), "parse_token_response is deterministic");
  if (grant)
    require(again->token == grant->token && again->lifetime == grant->lifetime,
            "parse_token_response is deterministic (value)");
}

struct ReadResponse {
  bool done = false;
  bool failed = false;
  int status = 0;
  std::string body, retry_after;
};

// A download's sink that keeps everything it is given.
struct KeepingSink final : api::BodySink {
  void begin(std::optional<std::uint64_t>) override { bytes.clear(); }
  bool take(std::string_view more) override {
    bytes.append(more);
    return true;
  }
  std::chrono::nanoseconds pause_before_read(std::size_t) override { return std::chrono::nanoseconds(0); }
  const std::string& trouble() const override { return none; }
  std::string bytes, none;
};

// Feeds `wire` to a fresh reader, split once at `split`, as two socket reads would bring it,
// then closes the connection: the pool's own feeding (api::feed, api::feed_close).
ReadResponse read_response(std::string_view wire, std::size_t split, std::uint64_t limit,
                           api::BodySink* sink = nullptr) {
  api::ResponseReader reader(limit, sink);
  ReadResponse out;
  boost::beast::flat_buffer received;
  boost::system::error_code ec;
  api::Fed fed = api::Fed::more;
  for (std::string_view piece : {wire.substr(0, split), wire.substr(split)}) {
    if (fed != api::Fed::more) break;
    received.commit(boost::asio::buffer_copy(received.prepare(piece.size()), boost::asio::buffer(piece)));
    fed = api::feed(reader, received, ec);
  }
  if (fed == api::Fed::more) fed = api::feed_close(reader, ec);
  require((fed == api::Fed::failed) == static_cast<bool>(ec), "a failed feed says why, and only then");
  out.failed = fed == api::Fed::failed;
  out.done = reader.is_done();
  if (out.done) {
    out.status = reader.status();
    out.body = reader.body();
    out.retry_after = reader.retry_after();
    require(reader.body().size() <= limit, "a response body stays within its limit");
  }
  return out;
}

void check_http_response(std::string_view wire, uint8_t knob) {
  constexpr std::uint64_t kLimit = 4096;
  ReadResponse whole = read_response(wire, wire.size(), kLimit);
  ReadResponse split = read_response(wire, wire.empty() ? 0 : knob % (wire.size() + 1), kLimit);
  // Beast refuses some malformed starts early when it sees them at once and only at the
  // header limit (or the deadline) when they trickle in: both are failures for the pool. What
  // must never happen is a response read whole one way and refused or different the other.
  require(!(whole.done && split.failed) && !(split.done && whole.failed), "a response reads the same in pieces");
  require(whole.done == split.done, "a complete response is complete in pieces too");
  if (whole.done) {
    require(whole.status >= 100 && whole.status <= 999, "a read response has a status");
    require(whole.status == split.status && whole.body == split.body && whole.retry_after == split.retry_after,
            "a response's status, body and Retry-After do not depend on how it arrived", whole.body);
    // A download reads the same answer: a 2xx body goes to its sink, any other stays in memory.
    KeepingSink sink;
    ReadResponse sunk = read_response(wire, wire.empty() ? 0 : knob % (wire.size() + 1), kLimit, &sink);
    require(sunk.done && sunk.status == whole.status, "a download reads what a call reads");
    const bool success = whole.status >= 200 && whole.status < 300;
    require((success ? sink.bytes : sunk.body) == whole.body && (!success || sunk.body.empty()),
            "a 2xx body goes to the sink whole, any other body to memory", whole.body);
  }
}

void check_job_state(std::string_view body) {
  std::string state = api::job_state_from_body(body);
  require(simdjson::validate_utf8(state.data(), state.size()), "job state is valid UTF-8", state);
  require(api::job_state_from_body(body) == state, "job_state_from_body is deterministic");
}

bool bounded_utf8(const std::string& text) {
  return text.size() <= api::kMaxFieldBytes && simdjson::validate_utf8(text.data(), text.size());
}

// Job following's readers: every text field bounded and valid UTF-8 (it lands in outcome
// files), an id on every job, results bounded, and the "final" record built from them is JSON.
void check_job_readers(std::string_view body) {
  auto job = api::parse_job_response(body);
  if (job) {
    require(!job->id.empty(), "a parsed job has an id");
    for (const auto* f : {&job->id, &job->state, &job->error_message, &job->started_at, &job->ended_at})
      require(bounded_utf8(*f), "job fields are bounded UTF-8", *f);
  }
  auto page = api::parse_job_list(body);
  if (page) {
    for (const auto& j : page->jobs) require(!j.id.empty() && bounded_utf8(j.state), "list jobs have ids", j.id);
  }
  auto results = api::parse_job_results(body);
  if (results) {
    require(results->size() <= api::kMaxResults, "results are bounded");
    for (const auto& r : *results) require(bounded_utf8(r.name) && bounded_utf8(r.link), "result fields are bounded UTF-8");
  }
  if (job) {
    std::string final = spool::final_json(submit::job_end(*job, results.value_or(std::vector<api::JobResult>{})));
    simdjson::dom::parser parser;
    simdjson::dom::element e;
    require(!parser.parse(simdjson::padded_string(final)).get(e) && e.is_object(), "final record is a JSON object", final);
    // The journal keeps it while results download, and reads it back: the same record.
    auto back = spool::parse_final(final);
    require(back && spool::final_json(*back) == final, "a final record reads back as written", final);
  }
}

// What retry_after_delay must return when the header is delta-seconds, worked out without
// std::chrono so an overflow in the code under test cannot hide in the expectation. Empty when
// the header is not delta-seconds, or is too large for int64 (what that should mean is a
// policy question, left unchecked).
std::optional<milliseconds> expected_delta_seconds(std::string_view header, milliseconds cap) {
  // The same trimming as the code under test: spaces only.
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  bool negative = !header.empty() && header.front() == '-';
  if (negative) header.remove_prefix(1);
  if (header.empty() || header.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  if (negative) return milliseconds(0);  // not valid delta-seconds: no wait
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t value = 0;
  for (char c : header) {
    int digit = c - '0';
    if (value > (kMax - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  // A wait longer than the cap, however long, is the cap.
  int64_t ms = value > kMax / 1000 ? kMax : value * 1000;
  return milliseconds(std::min(ms, cap.count()));
}

// The `now` choices: two minutes before the RFC 9110 example date ("Wed, 21 Oct 2015
// 07:28:00 GMT" gives 120 s), the FakeClock default, the Unix epoch, and just before the
// older RFC example date ("Sun, 06 Nov 1994 08:49:37 GMT" gives 7 s).
WallTime pick_now(unsigned index) {
  switch (index & 3) {
    case 0: return sys_days{year{2015} / 10 / 21} + hours(7) + minutes(26);
    case 1: return sys_days{year{2026} / 1 / 1};
    case 2: return WallTime{};
    default: return sys_days{year{1994} / 11 / 6} + hours(8) + minutes(49) + seconds(30);
  }
}

// The cap choices: the daemon's default retry_after_cap, none at all, one second, unbounded.
milliseconds pick_cap(unsigned index) {
  switch (index & 3) {
    case 0: return milliseconds(300000);
    case 1: return milliseconds(0);
    case 2: return milliseconds(1000);
    default: return milliseconds::max();
  }
}

void check_retry_after(std::string_view header, uint8_t knob) {
  WallTime now = pick_now(knob);
  milliseconds cap = pick_cap(knob >> 2);
  milliseconds delay = submit::retry_after_delay(header, now, cap);
  require(delay >= milliseconds(0) && delay <= cap, "Retry-After delay is within [0, cap]", header);
  if (auto expected = expected_delta_seconds(header, cap))
    require(delay == *expected, "Retry-After delta-seconds is taken as given, clamped", header);
  // One second earlier, a date is one second further away (a number does not move at all).
  milliseconds earlier = submit::retry_after_delay(header, now - seconds(1), cap);
  require(earlier >= delay && earlier - delay <= milliseconds(1000),
          "Retry-After delay moves with now by at most the shift", header);
  require(submit::retry_after_delay(header, now, cap) == delay, "retry_after_delay is deterministic");
}

int digit(uint8_t byte) { return ((byte - '0') % 10 + 10) % 10; }

}  // namespace

int api_response_one_input(const uint8_t* data, size_t size) {
  int status = 0;
  uint8_t knob = 0;
  if (size >= 4) {
    status = digit(data[0]) * 100 + digit(data[1]) * 10 + digit(data[2]);
    knob = data[3];
    data += 4;
    size -= 4;
  }
  std::string_view body(reinterpret_cast<const char*>(data), size);
  check_api_error(status, body);
  check_token_response(body);
  check_job_state(body);
  check_job_readers(body);
  check_retry_after(body, knob);
  check_http_response(body, knob);
  return 0;
}

}  // namespace submitd::fuzz
