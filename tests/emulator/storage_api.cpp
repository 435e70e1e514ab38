// The storage endpoint's decisions, apart from its sockets: a "file" job's tempUrl
// (/upload/<job id>?sig=<token>) takes a PUT of the input while the job is new; a whole one
// is recorded with its size and SHA-256 so tests can compare it with the file sent. A
// completed job's results (/download/<job id>/<index>) are GETs of result_bytes of the
// configured size. Faults (storage knobs, or scripted ones whose path matches) answer 503
// before the body, drop the connection before it or half way through it, or go slowly.
#include "api_errors.hpp"
#include "emulator.hpp"
#include "result_bytes.hpp"

namespace emulator {

namespace {

// "/upload/<id>?sig=<token>" -> id and token; false for any other shape.
bool split_upload_target(std::string_view target, std::string& id, std::string& token) {
  constexpr std::string_view kPrefix = "/upload/";
  if (!target.starts_with(kPrefix)) return false;
  target.remove_prefix(kPrefix.size());
  const auto query = target.find('?');
  id.assign(target.substr(0, query));
  if (id.empty() || id.find('/') != std::string::npos) return false;
  if (query == std::string_view::npos) return true;
  std::string_view q = target.substr(query + 1);
  if (q.starts_with("sig=")) token.assign(q.substr(4, q.find('&') == std::string_view::npos ? q.npos : q.find('&') - 4));
  return true;
}

// Applies a storage fault to `start`; true when it ends the request before any body.
bool apply_storage_fault(const FaultDecision& fault, Emulator::StorageStart& start, Ledger& ledger) {
  if (fault.before == FaultDecision::Before::reset) {
    ledger.add(Ledger::Count::storage_resets_before);
    start.reset_before = true;
    return true;
  }
  if (fault.before == FaultDecision::Before::status) {
    ledger.add(fault.status == 503 ? Ledger::Count::storage_503 : Ledger::Count::injected_other);
    start.answer = rpc_status(fault.status, fault.status == 503 ? grpc_code::unavailable : grpc_code::internal,
                              "injected fault");
    return true;
  }
  start.reset_mid_body = fault.reset_mid_body;
  start.reset_after = fault.reset_after;
  start.slow_body = fault.slow_body;
  if (fault.slow_body.count() > 0) ledger.add(Ledger::Count::storage_slow_bodies);
  return false;
}

}  // namespace

std::vector<std::string> Emulator::result_names(std::string_view template_id) {
  if (template_id.starts_with("hostile-names-")) {
    return {"../escape.bin", "/etc/absolute.bin", "ctrl\x01name.bin", "sub/../../up.bin", "..", "fine/result.bin"};
  }
  return {"out_0/result.bin"};
}

Emulator::StorageStart Emulator::begin_download(std::string_view target) {
  StorageStart start;
  const std::string_view full = target;  // what scripted faults match
  target.remove_prefix(std::string_view("/download/").size());
  target = target.substr(0, target.find('?'));
  const auto slash = target.find('/');
  const std::string id(target.substr(0, slash));
  std::size_t index = 0;
  const std::string_view index_text = slash == std::string_view::npos ? "" : target.substr(slash + 1);
  const auto job = jobs_.get(id);
  const auto names = job ? result_names(job->template_id) : std::vector<std::string>{};
  const bool numeric = !index_text.empty() && index_text.find_first_not_of("0123456789") == std::string_view::npos &&
                       index_text.size() < 6;
  if (numeric) index = std::stoul(std::string(index_text));
  if (!job || !numeric || index >= names.size()) {
    start.answer = rpc_status(404, grpc_code::not_found, "no such result");
    return start;
  }
  if (job->state_at(clock_.now()) != JobState::complete) {
    start.answer = rpc_status(404, grpc_code::not_found, "the job has no results (not completed)");
    return start;
  }
  if (apply_storage_fault(faults_.decide_storage("GET", full), start, ledger_)) return start;
  start.download_bytes = static_cast<std::uint64_t>(result_bytes_.load());
  start.download_seed = result_seed(id, names[index]);
  return start;
}

Emulator::StorageStart Emulator::begin_storage(std::string_view method, std::string_view target) {
  ledger_.add(Ledger::Count::storage_requests);
  if (target.starts_with("/download/")) {
    if (method == "GET") return begin_download(target);
    StorageStart refused;
    refused.answer = rpc_status(405, grpc_code::invalid_argument, "a result URL takes GET");
    return refused;
  }
  StorageStart start;
  std::string id, token;
  if (!split_upload_target(target, id, token)) {
    start.answer = rpc_status(404, grpc_code::not_found, "no such storage object");
    return start;
  }
  if (method != "PUT") {
    start.answer = rpc_status(405, grpc_code::invalid_argument, "an upload URL takes PUT");
    return start;
  }
  const FaultDecision fault = faults_.decide_storage(method, target);
  if (fault.before != FaultDecision::Before::none) {
    apply_storage_fault(fault, start, ledger_);
    return start;
  }
  switch (jobs_.admit_upload(id, token, clock_.now()).outcome) {
    case StoreOutcome::ok: break;
    case StoreOutcome::not_found: start.answer = rpc_status(404, grpc_code::not_found, "job not found"); return start;
    case StoreOutcome::already_started:
      start.answer = rpc_status(409, grpc_code::failed_precondition, "the job has started: its input is fixed");
      return start;
    case StoreOutcome::bad_upload_token:
      start.answer = rpc_status(403, grpc_code::permission_denied, "the upload URL's signature is not valid");
      return start;
    default:
      start.answer = rpc_status(400, grpc_code::failed_precondition, "the job's data source is not \"file\"");
      return start;
  }
  start.job_id = std::move(id);
  apply_storage_fault(fault, start, ledger_);
  return start;
}

ApiResponse Emulator::end_upload(const std::string& job_id, std::uint64_t bytes, std::string sha256_hex) {
  const StoreResult r = jobs_.record_upload(job_id, bytes, std::move(sha256_hex), clock_.now());
  if (r.outcome == StoreOutcome::not_found) return rpc_status(404, grpc_code::not_found, "job not found");
  if (r.outcome == StoreOutcome::already_started) {
    return rpc_status(409, grpc_code::failed_precondition, "the job has started: its input is fixed");
  }
  ledger_.add(Ledger::Count::uploads);
  ledger_.add(Ledger::Count::upload_bytes, bytes);
  return {200, "{}"};
}

}  // namespace emulator
