// Role: what a JetStream message means to the daemon, as plain logic (the source's threads
// and coroutines only carry it out). A message is named "<stream>:<stream sequence>" by the
// one identity rule (spool/request_identity.hpp: the stream is its claim, the sequence its
// line), in the fleet's namespace, so every daemon derives the same jobId for it. Its
// delivery count says how it is worked: the first delivery normally; a later one after
// reading the job (another daemon may have created or run it); the last one the consumer
// allows is not worked again but ends failed, so a message that kills daemons ends.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "spool/outcome.hpp"
#include "util/uuid.hpp"

namespace submitd::submit {

struct MessageIdentity {
  std::string claim_id;    // the stream: a message's "claim"
  std::uint64_t line = 0;  // its stream sequence: its "line"
  std::string job_id;
  std::string request_key;  // "<stream>:<seq>": the requestId when it brings none, and the outcome's Nats-Msg-Id
};
MessageIdentity message_identity(const Uuid& fleet_namespace, std::string_view stream, std::uint64_t sequence);

enum class DeliveryAction {
  work,              // first delivery: nothing can have been sent for it
  read_job_first,    // delivered before: calls may have gone out from another daemon
  give_up,           // the last delivery the consumer allows: ends failed, terminated
};
// `max_deliver` 1 allows one delivery, which is worked (there is no earlier one to blame).
DeliveryAction delivery_action(std::uint64_t delivered, std::uint64_t max_deliver);

// The outcome of a message that is not worked again (see DeliveryAction::give_up).
std::string give_up_message(std::uint64_t delivered, const std::string& job_id);
// The outcome of a message larger than a request may be.
std::string too_large_message(std::uint64_t bytes, std::uint64_t max_request_bytes);

// An outcome record as a message: its JSON (the same as a line of an outcome file, without
// the newline) with the stream and the sequence added.
std::string message_outcome(std::string_view outcome_line, std::string_view stream, std::uint64_t sequence);

// Job following: a followed message's outcome record again, with the job's end as "final"
// (spool::with_final), and its Nats-Msg-Id "<stream>:<seq>:final": the outcome stream keeps
// one of each, beside the first record (Nats-Msg-Id "<stream>:<seq>").
std::string final_record(std::string_view outcome_line, std::string_view final_json, std::string_view stream,
                         std::uint64_t sequence);
std::string final_message_id(std::string_view stream, std::uint64_t sequence);

}  // namespace submitd::submit
