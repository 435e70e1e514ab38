// Role: what a JetStream message means to the daemon (see message_rules.hpp).
#include "submit/message_rules.hpp"

#include <fmt/format.h>

#include "spool/request_identity.hpp"
#include "util/json_text.hpp"

namespace submitd::submit {

MessageIdentity message_identity(const Uuid& fleet_namespace, std::string_view stream, std::uint64_t sequence) {
  MessageIdentity id;
  id.claim_id = std::string(stream);
  id.line = sequence;
  id.request_key = spool::request_key(stream, sequence);
  id.job_id = spool::job_id_for(fleet_namespace, stream, sequence);
  return id;
}

DeliveryAction delivery_action(std::uint64_t delivered, std::uint64_t max_deliver) {
  if (delivered <= 1) return DeliveryAction::work;
  if (max_deliver > 0 && delivered >= max_deliver) return DeliveryAction::give_up;
  return DeliveryAction::read_job_first;
}

std::string give_up_message(std::uint64_t delivered, const std::string& job_id) {
  return fmt::format(
      "delivered {} times without an outcome (intake.jetstream.max_deliver): not worked again; "
      "an earlier delivery may have created or run job {}",
      delivered, job_id);
}

std::string too_large_message(std::uint64_t bytes, std::uint64_t max_request_bytes) {
  return fmt::format("the message is {} bytes; a request may be at most {} bytes (spool.max_request_bytes)", bytes,
                     max_request_bytes);
}

std::string message_outcome(std::string_view outcome_line, std::string_view stream, std::uint64_t sequence) {
  while (!outcome_line.empty() && (outcome_line.back() == '\n' || outcome_line.back() == ' ')) {
    outcome_line.remove_suffix(1);
  }
  std::string out;
  if (outcome_line.empty() || outcome_line.back() != '}') {
    out = "{";  // not an object: cannot happen for a record of ours; still a valid message
  } else {
    outcome_line.remove_suffix(1);
    out.assign(outcome_line);
    if (out.size() > 1) out += ',';
  }
  out += "\"stream\":";
  append_json_string(out, stream);
  out += fmt::format(",\"seq\":{}}}", sequence);
  return out;
}

std::string final_record(std::string_view outcome_line, std::string_view final_json, std::string_view stream,
                         std::uint64_t sequence) {
  return message_outcome(spool::with_final(outcome_line, final_json), stream, sequence);
}

std::string final_message_id(std::string_view stream, std::uint64_t sequence) {
  return spool::request_key(stream, sequence) + ":final";
}

}  // namespace submitd::submit
