// The Customer API job endpoints: create (with client-chosen jobId), get, list, datasource,
// params, run, abort, delete, uploadcompleted and results. Validation errors answer with the
// rpcStatus shape and a gRPC code, as grpc-gateway does.
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "api_errors.hpp"
#include "emulator.hpp"
#include "job_json.hpp"
#include "request_validation.hpp"

namespace emulator {

namespace json = boost::json;

namespace {

ApiResponse invalid(std::string_view message) {
  return rpc_status(400, grpc_code::invalid_argument, message);
}

ApiResponse job_not_found(const std::string& id) {
  return rpc_status(404, grpc_code::not_found, "job " + id + " not found");
}

ApiResponse already_started() {
  return rpc_status(400, grpc_code::failed_precondition, "job has already been started");
}

// Optional string field: absent and null give "", anything but a string is an error.
std::optional<std::string> optional_string(const json::object& o, std::string_view key,
                                           std::string& error) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::string{};
  if (!it->value().is_string()) {
    error = std::string(key) + " must be a string";
    return std::nullopt;
  }
  return std::string(it->value().get_string());
}

}  // namespace

ApiResponse Emulator::create_job(std::string_view body_text) {
  Body body = parse_object(body_text, false);
  if (body.error) return std::move(*body.error);
  const json::object& o = *body.object;

  std::string error;
  CreateSpec spec;
  const auto* tid = o.if_contains("templateId");
  if (!tid || !tid->is_string() || tid->get_string().empty())
    return invalid("templateId is required (a non-empty string naming the app template)");
  spec.template_id = std::string(tid->get_string());
  auto name = optional_string(o, "name", error);
  auto description = optional_string(o, "description", error);
  auto job_id = optional_string(o, "jobId", error);
  if (!name || !description || !job_id) return invalid(error);
  spec.name = std::move(*name);
  spec.description = std::move(*description);

  if (job_id->empty()) {
    spec.id = ids_.uuid4();
  } else if (!is_uuid(*job_id)) {
    return invalid("jobId must be a UUID (8-4-4-4-12 hex digits), got \"" + *job_id + "\"");
  } else {
    spec.id = to_lower(*job_id);
  }

  // Template rules that let tests provoke the errors a real account can meet.
  if (spec.template_id.starts_with("denied-"))
    return rpc_status(403, grpc_code::permission_denied,
                      "permission denied: template \"" + spec.template_id +
                          "\" is not available to this account");
  if (spec.template_id.starts_with("missing-"))
    return rpc_status(404, grpc_code::not_found, "template \"" + spec.template_id + "\" not found");

  // One-shot create, as in ByteNite's examples: data source and params in the create body.
  const bool has_source = o.contains("dataSource") && !o.at("dataSource").is_null();
  const bool has_destination = o.contains("dataDestination") && !o.at("dataDestination").is_null();
  if (has_source) {
    if (auto problem = check_data_endpoint(o.at("dataSource"), Direction::input, "dataSource"))
      return invalid(*problem);
    spec.data_source = o.at("dataSource");
  }
  if (has_destination) {
    if (auto problem =
            check_data_endpoint(o.at("dataDestination"), Direction::output, "dataDestination"))
      return invalid(*problem);
    spec.data_destination = o.at("dataDestination");
  }
  if (auto it = o.find("params"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_object()) return invalid("params must be a JSON object");
    auto merged = check_params_patch(it->value().get_object());
    if (!merged) return invalid("params." + merged.error);
    spec.params = std::move(*merged.value);
  }

  const auto now = clock_.now();
  StoreResult r = jobs_.create_or_update(std::move(spec), now);
  if (r.outcome == StoreOutcome::already_started) {
    ledger_.add(Ledger::Count::rejected_creates);
    return already_started();
  }
  ledger_.add(Ledger::Count::creates);
  return {200, job_envelope(r.job, now)};
}

ApiResponse Emulator::get_job(const std::string& id) {
  ledger_.add(Ledger::Count::gets);
  auto job = jobs_.get(id);
  if (!job) return job_not_found(id);
  return {200, job_envelope(*job, clock_.now())};
}

ApiResponse Emulator::list_jobs(std::string_view query) {
  ledger_.add(Ledger::Count::lists);
  std::uint64_t limit = 20, offset = 0;
  for (const auto& [key, value] : decode_query(query)) {
    if (key != "pagination.limit" && key != "pagination.offset") continue;
    std::uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc{} || ptr != value.data() + value.size())
      return invalid(key + " must be a non-negative integer, got \"" + value + "\"");
    (key == "pagination.limit" ? limit : offset) = n;
  }
  if (limit == 0) limit = 20;      // proto3 default 0 means "not given"
  if (limit > 1000) limit = 1000;  // bound the answer size

  const auto now = clock_.now();
  JobPage page = jobs_.list(offset, limit);
  json::array data;
  data.reserve(page.jobs.size());
  for (const Job& j : page.jobs) data.push_back(job_json(j, now));
  json::object pagination;
  pagination["total"] = std::to_string(page.total);
  pagination["offset"] = std::to_string(offset);
  pagination["hasPrevious"] = offset > 0 && page.total > 0;
  pagination["hasNext"] = offset + page.jobs.size() < page.total;
  json::object out;
  out["pagination"] = std::move(pagination);
  out["data"] = std::move(data);
  return {200, json::serialize(out)};
}

ApiResponse Emulator::patch_data_source(const std::string& id, std::string_view body_text) {
  Body body = parse_object(body_text, false);
  if (body.error) return std::move(*body.error);
  const json::object& o = *body.object;
  const json::value null_value;
  const json::value* source = o.if_contains("dataSource");
  const json::value* destination = o.if_contains("dataDestination");
  if (auto p = check_data_endpoint(source ? *source : null_value, Direction::input, "dataSource"))
    return invalid(*p);
  if (auto p = check_data_endpoint(destination ? *destination : null_value, Direction::output,
                                   "dataDestination"))
    return invalid(*p);

  json::value stored_source = *source;
  std::string upload_token;
  // A "file" source answers with the upload URL the client must PUT its bytes to.
  if (stored_source.get_object().at("dataSourceDescriptor").as_string() == "file") {
    json::value& params = stored_source.get_object()["params"];
    if (!params.is_object()) params = json::object{};
    upload_token = ids_.hex(16);
    params.get_object()["tempUrl"] = storage_origin() + "/upload/" + id + "?sig=" + upload_token;
  }

  const auto now = clock_.now();
  StoreResult r = jobs_.set_data_source(id, std::move(stored_source), *destination, now);
  if (!upload_token.empty() && r.outcome == StoreOutcome::ok) jobs_.set_upload_token(id, std::move(upload_token));
  return answer_draft_patch(id, r, Ledger::Count::datasource_patches, now);
}

ApiResponse Emulator::patch_params(const std::string& id, std::string_view body_text) {
  Body body = parse_object(body_text, false);
  if (body.error) return std::move(*body.error);
  auto merged = check_params_patch(*body.object);
  if (!merged) return invalid(merged.error);

  const auto now = clock_.now();
  StoreResult r = jobs_.merge_params(id, *merged.value, now);
  return answer_draft_patch(id, r, Ledger::Count::params_patches, now);
}

// Both PATCHes only apply to a job still in JOB_STATE_NEW and answer alike.
ApiResponse Emulator::answer_draft_patch(const std::string& id, const StoreResult& r,
                                         Ledger::Count counted, TimePoint now) {
  switch (r.outcome) {
    case StoreOutcome::not_found:
      return job_not_found(id);
    case StoreOutcome::already_started:
      return already_started();
    default:
      break;
  }
  ledger_.add(counted);
  return {200, job_envelope(r.job, now)};
}

ApiResponse Emulator::run_job(const std::string& id, std::string_view body_text) {
  Body body = parse_object(body_text, true);
  if (body.error) return std::move(*body.error);
  auto config = check_run_config(*body.object);
  if (!config) return invalid(config.error);

  StoreResult r = jobs_.run(id, std::move(*config.value),
                            std::chrono::milliseconds{job_duration_ms_.load()}, clock_.now());
  switch (r.outcome) {
    case StoreOutcome::not_found:
      return job_not_found(id);
    case StoreOutcome::already_started:
      ledger_.add(Ledger::Count::rejected_runs);
      return already_started();
    case StoreOutcome::no_data_source:
      ledger_.add(Ledger::Count::rejected_runs);
      return rpc_status(400, grpc_code::failed_precondition,
                        "data source not set: PATCH /jobs/" + id + "/datasource first");
    case StoreOutcome::upload_pending:
      ledger_.add(Ledger::Count::rejected_runs);
      return rpc_status(400, grpc_code::failed_precondition,
                        "upload not completed: PUT the input to the job's tempUrl, then PATCH /jobs/" + id +
                            "/uploadcompleted");
    default:
      break;
  }
  ledger_.add(Ledger::Count::runs);
  return generic_ok();
}

ApiResponse Emulator::abort_job(const std::string& id) {
  StoreResult r = jobs_.abort(id, clock_.now());
  switch (r.outcome) {
    case StoreOutcome::not_found:
      return job_not_found(id);
    case StoreOutcome::already_ended:
      return rpc_status(400, grpc_code::failed_precondition,
                        "job has already ended (" +
                            std::string(job_state_name(r.job.state_at(clock_.now()))) + ")");
    case StoreOutcome::deleted:
      ledger_.add(Ledger::Count::aborts);
      return generic_ok("job had not started and was deleted");
    default:
      ledger_.add(Ledger::Count::aborts);
      return generic_ok("job aborted");
  }
}

ApiResponse Emulator::delete_job(const std::string& id) {
  StoreResult r = jobs_.remove(id);
  if (r.outcome == StoreOutcome::not_found) return job_not_found(id);
  ledger_.add(Ledger::Count::deletes);
  return generic_ok("job deleted");
}

ApiResponse Emulator::upload_completed(const std::string& id) {
  switch (jobs_.complete_upload(id).outcome) {
    case StoreOutcome::not_found: return job_not_found(id);
    case StoreOutcome::not_an_upload:
      return rpc_status(400, grpc_code::failed_precondition, "the job's data source is not \"file\": nothing to upload");
    case StoreOutcome::upload_missing:
      return rpc_status(400, grpc_code::failed_precondition,
                        "no upload arrived: PUT the input to the job's tempUrl first");
    default: return generic_ok();
  }
}

ApiResponse Emulator::job_results(const std::string& id) {
  ledger_.add(Ledger::Count::results);
  auto job = jobs_.get(id);
  if (!job) return job_not_found(id);
  if (job->state_at(clock_.now()) != JobState::complete)
    return rpc_status(400, grpc_code::failed_precondition, "job has not yet been completed");
  json::array results;
  const auto names = result_names(job->template_id);
  for (std::size_t i = 0; i < names.size(); ++i) {
    json::object result;
    result["name"] = names[i];
    result["link"] = storage_origin() + "/download/" + id + "/" + std::to_string(i);
    results.push_back(std::move(result));
  }
  json::object out;
  out["results"] = std::move(results);
  return {200, json::serialize(out)};
}

}  // namespace emulator
