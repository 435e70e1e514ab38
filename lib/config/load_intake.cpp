// Role: the [intake.jetstream] table of the config (issue 20): read and checked here, beside
// load.cpp (which keeps the schema), so every JetStream key has one home. A name NATS would
// refuse, a URL that is not nats:// or tls://, or a namespace that is not a UUID is refused
// with the key, the line and why, before the daemon connects anywhere.
#include "config/load_intake.hpp"

#include <algorithm>

#include "util/uuid.hpp"

namespace submitd::config {
namespace {

constexpr const char* kTable = "intake.jetstream";

// Stream, consumer and bucket names: NATS refuses spaces, '.', '*', '>', path separators and
// control characters in them; keep to what every tool accepts.
bool is_plain_name(std::string_view s) {
  return !s.empty() && s.size() <= 255 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// A subject: tokens separated by '.', none empty, no whitespace; wildcards only as whole tokens.
bool is_subject(std::string_view s, bool wildcards) {
  if (s.empty() || s.size() > 1024) return false;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t end = std::min(s.find('.', start), s.size());
    const std::string_view token = s.substr(start, end - start);
    if (token.empty()) return false;
    for (char c : token) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
      if ((c == '*' || c == '>') && (!wildcards || token.size() != 1)) return false;
    }
    if (token == ">" && end != s.size()) return false;
    start = end + 1;
  }
  return true;
}

std::string name_or_fail(const Reader& r, const char* key, bool required) {
  auto value = r.string(kTable, key);
  if (!value) {
    if (required) r.fail(Reader::name(kTable, key), nullptr, "required when intake.jetstream.servers is set");
    return {};
  }
  if (!is_plain_name(*value)) {
    r.fail(Reader::name(kTable, key), r.find(kTable, key), "must be 1 to 255 letters, digits, '_' or '-'");
  }
  return *value;
}

}  // namespace

void read_jetstream(const Reader& r, JetStreamSettings& js) {
  js.servers = r.strings(kTable, "servers");
  for (const auto& url : js.servers) {
    if (!url.starts_with("nats://") && !url.starts_with("tls://")) {
      r.fail(Reader::name(kTable, "servers"), r.find(kTable, "servers"),
             "each server is a nats:// or tls:// URL, e.g. \"nats://10.0.0.1:4222\"");
    }
  }
  const bool on = js.enabled();
  js.stream = name_or_fail(r, "stream", on);
  js.consumer = name_or_fail(r, "consumer", on);
  js.kv_bucket = name_or_fail(r, "kv_bucket", false);
  if (auto subject = r.string(kTable, "subject")) {
    if (!is_subject(*subject, true)) {
      r.fail(Reader::name(kTable, "subject"), r.find(kTable, "subject"), "not a NATS subject (tokens separated by '.')");
    }
    js.subject = *subject;
  }
  if (auto subject = r.string(kTable, "outcome_subject")) {
    if (!is_subject(*subject, false)) {
      r.fail(Reader::name(kTable, "outcome_subject"), r.find(kTable, "outcome_subject"),
             "not a NATS subject to publish to (tokens separated by '.', no wildcards)");
    }
    js.outcome_subject = *subject;
  }
  js.creds_file = r.absolute_path(kTable, "creds_file");
  if (js.creds_file) check_readable_file(r, kTable, "creds_file", *js.creds_file);
  js.ca_file = r.absolute_path(kTable, "ca_file");
  if (js.ca_file) check_readable_file(r, kTable, "ca_file", *js.ca_file);
  read_number(r, kTable, "batch", 1, 10'000, js.batch);
  read_number(r, kTable, "ack_wait_s", 1, 86'400, js.ack_wait);
  read_number(r, kTable, "max_deliver", 1, 1'000, js.max_deliver);
  if (auto ns = r.string(kTable, "namespace")) {
    if (!Uuid::parse(*ns)) {
      r.fail(Reader::name(kTable, "namespace"), r.find(kTable, "namespace"),
             "must be a UUID (e.g. from `cat /proc/sys/kernel/random/uuid`), the same in every daemon of the fleet");
    }
    js.job_namespace = *ns;
  } else if (on) {
    r.fail(Reader::name(kTable, "namespace"), nullptr,
           "required when intake.jetstream.servers is set: one UUID shared by the fleet, so that every daemon "
           "derives the same jobId for the same message");
  }
}

}  // namespace submitd::config
