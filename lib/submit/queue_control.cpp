// Role: queue control's decisions (see queue_control.hpp).
#include "submit/queue_control.hpp"

#include <fmt/format.h>

#include "spool/claim.hpp"

namespace submitd::submit {

using spool::QueuedFileState;

namespace {

// "active/<claim>.<name>" names its claim; so does a bare claim id.
std::string claim_named_by(std::string_view base) {
  std::string_view head = base.substr(0, 16);
  if (!spool::is_claim_id(head)) return {};
  if (base.size() == 16 || base[16] == '.' || base[16] == '~') return std::string(head);
  return {};
}

}  // namespace

FileKey resolve_file_key(std::string_view key, const std::vector<spool::QueuedFile>& files) {
  FileKey out;
  while (!key.empty() && key.back() == '/') key.remove_suffix(1);
  std::string_view base = key.substr(key.find_last_of('/') == std::string_view::npos ? 0 : key.find_last_of('/') + 1);
  if (base.empty() || base == "." || base == ".." || base[0] == '.') {
    out.message = "give a file's name as dropped, or its claim id (see bytenite-submit queue)";
    return out;
  }
  if (std::string claim = claim_named_by(base); !claim.empty()) {
    for (const auto& f : files) {
      if (f.claim_id == claim) {
        out.kind = FileKey::Kind::known;
        out.file = &f;
        return out;
      }
    }
  }
  std::vector<const spool::QueuedFile*> named;
  for (const auto& f : files) {
    if (f.name == base) named.push_back(&f);
  }
  if (named.size() == 1) {
    out.kind = FileKey::Kind::known;
    out.file = named.front();
  } else if (named.size() > 1) {
    out.kind = FileKey::Kind::ambiguous;
    std::string claims;
    for (const auto* f : named) claims += (claims.empty() ? "" : ", ") + f->claim_id;
    out.message = fmt::format("{} files are named {}: name one by its claim id ({})", named.size(), base, claims);
  } else {
    out.kind = FileKey::Kind::maybe_incoming;
    out.name = std::string(base);
  }
  return out;
}

FilePlan plan_file_action(FileVerb verb, QueuedFileState state, bool abort_running) {
  const bool cancel = verb == FileVerb::cancel;
  switch (state) {
    case QueuedFileState::incoming:
      if (verb == FileVerb::release) return {FileStep::refuse, "not held: it waits in incoming/ to be claimed"};
      return {FileStep::claim_then_act, cancel ? "cancelled: every request of it ends failed with stage cancelled"
                                               : "held: nothing of it goes to the API until release"};
    case QueuedFileState::working:
      if (verb == FileVerb::release) return {FileStep::refuse, "not held"};
      return {FileStep::act, cancel ? "cancelled: its requests not yet run end failed with stage cancelled"
                                    : "held: its requests not yet sent wait, and it reads no further, until release"};
    case QueuedFileState::held:
      if (verb == FileVerb::hold) return {FileStep::nothing, "already held"};
      return {FileStep::act, cancel ? "cancelled: its requests not yet run end failed with stage cancelled"
                                    : "released: its requests go to the API again"};
    case QueuedFileState::cancelling:
      if (cancel) return {FileStep::act, abort_running ? "cancelled; its started jobs are being aborted" : "already cancelled"};
      return {FileStep::refuse, verb == FileVerb::hold ? "cancelled: a cancelled file cannot be held" : "not held: it is cancelled"};
    case QueuedFileState::following:
      if (cancel && abort_running) return {FileStep::act, "every request of it had ended; its running jobs are being aborted"};
      if (cancel) {
        return {FileStep::refuse, "nothing left to cancel: every request of it has ended and its jobs run at ByteNite "
                                  "(--abort-running aborts them)"};
      }
      return {FileStep::refuse, verb == FileVerb::hold ? "nothing left to hold: every request of it has ended"
                                                       : "not held"};
  }
  return {FileStep::refuse, "unknown state"};
}

std::optional<std::string> requeue_name(std::string_view path, std::string& why) {
  constexpr std::string_view kSuffix = ".retry.jsonl";
  const auto slash = path.find_last_of('/');
  const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (slash != std::string_view::npos) {
    std::string_view dir = path.substr(0, slash);
    while (!dir.empty() && dir.back() == '/') dir.remove_suffix(1);
    const std::string_view last = dir.substr(dir.find_last_of('/') == std::string_view::npos ? 0 : dir.find_last_of('/') + 1);
    if (last != "failed") {
      why = "requeue takes a retry file from failed/ (failed/NAME.retry.jsonl)";
      return std::nullopt;
    }
  }
  if (base.empty() || base[0] == '.' || base.size() <= kSuffix.size() || !base.ends_with(kSuffix)) {
    why = "requeue takes a retry file, NAME.retry.jsonl, from failed/";
    return std::nullopt;
  }
  return std::string(base);
}

}  // namespace submitd::submit
