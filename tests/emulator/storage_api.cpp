// The storage endpoint's decisions, apart from its sockets: a "file" job's tempUrl
// (/upload/<job id>?sig=<token>) takes a PUT of the input while the job is new; a whole one
// is recorded with its size and SHA-256 so tests can compare it with the file sent. Faults
// (storage knobs, or scripted ones whose path matches) answer 503 before the body, drop the
// connection before it or half way through it, or read it slowly.
#include "api_errors.hpp"
#include "emulator.hpp"

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

}  // namespace

Emulator::StorageStart Emulator::begin_storage(std::string_view method, std::string_view target) {
  ledger_.add(Ledger::Count::storage_requests);
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
  if (fault.before == FaultDecision::Before::reset) {
    ledger_.add(Ledger::Count::storage_resets_before);
    start.reset_before = true;
    return start;
  }
  if (fault.before == FaultDecision::Before::status) {
    ledger_.add(fault.status == 503 ? Ledger::Count::storage_503 : Ledger::Count::injected_other);
    start.answer = rpc_status(fault.status, fault.status == 503 ? grpc_code::unavailable : grpc_code::internal,
                              "injected fault");
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
  start.reset_mid_body = fault.reset_mid_body;
  start.reset_after = fault.reset_after;
  start.slow_body = fault.slow_body;
  if (fault.slow_body.count() > 0) ledger_.add(Ledger::Count::storage_slow_bodies);
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
