// Role: `bytenite-submit wait`'s decisions (see wait.hpp).
#include "cli/wait.hpp"

#include <simdjson.h>

#include "cli/exit_codes.hpp"
#include "spool/claim.hpp"
#include "spool/finished_file.hpp"

namespace submitd::cli {

bool names_a_file(std::string_view argument) {
  return argument.find('/') != std::string_view::npos || argument.ends_with(".json") || argument.ends_with(".jsonl");
}

WaitVerdict request_verdict(const ControlReply& reply) {
  WaitVerdict v;
  if (reply.status != 200) {
    v.ended = true;
    v.exit_code = exit_code_of(reply);
    v.line = reply.status == 0 ? reply.error : reply.body;
    return v;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view state;
  if (parser.parse(simdjson::padded_string(reply.body)).get(doc) || doc["state"].get(state)) {
    v.ended = true;
    v.exit_code = kUsage;
    v.line = "the daemon's answer has no state: " + reply.body;
    return v;
  }
  // Only an outcome ends the wait; every other state (queued, submitting, deferred, paused,
  // held) is a request still being worked.
  if (state != "submitted" && state != "duplicate" && state != "failed") return v;
  v.ended = true;
  v.exit_code = state == "submitted" || state == "duplicate" ? kDone : kRefused;
  v.line = reply.body;
  return v;
}

namespace {

namespace fs = std::filesystem;

std::optional<WaitVerdict> outcome_of(const fs::path& spool, const std::string& name) {
  std::error_code ec;
  for (const char* where : {"done", "failed"}) {
    const auto path = spool / where / spool::outcome_file_name(name);
    if (fs::exists(path, ec)) {
      return WaitVerdict{true, std::string_view(where) == "done" ? kDone : kRefused, std::string(where) + ": " + path.string()};
    }
  }
  return std::nullopt;
}

// Still somewhere on its way: waiting in incoming/, worked in active/ (under its claim id), or
// moved to done/ or failed/ with its outcome about to follow.
bool on_its_way(const fs::path& spool, const std::string& name) {
  std::error_code ec;
  for (const char* where : {"incoming", "done", "failed"}) {
    if (fs::exists(spool / where / name, ec)) return true;
  }
  for (auto it = fs::directory_iterator(spool / "active", ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (spool::is_claim_of(it->path().filename().string(), name)) return true;
  }
  return false;
}

}  // namespace

WaitVerdict file_verdict(const std::filesystem::path& spool, const std::string& name) {
  if (auto ended = outcome_of(spool, name)) return *ended;
  if (on_its_way(spool, name)) return {};
  // Looked again: the outcome may have been placed between the two looks.
  if (auto ended = outcome_of(spool, name)) return *ended;
  return {true, kRefused, name + " is not in " + spool.string() + " (incoming/, active/, done/ or failed/)"};
}

}  // namespace submitd::cli
