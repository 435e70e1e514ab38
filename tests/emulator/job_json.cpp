// Job rendering.
#include "job_json.hpp"

#include <boost/json/serialize.hpp>

namespace emulator {

namespace json = boost::json;

namespace {
json::value time_or_null(const std::optional<TimePoint>& t) {
  if (!t) return nullptr;
  return json::string(format_rfc3339(*t));
}
}  // namespace

json::object job_json(const Job& job, TimePoint now) {
  const JobState state = job.state_at(now);
  const auto ended = job.ended_at(now);
  const auto error = job.error_message_at(now);

  json::object o;
  o.reserve(17);
  o["id"] = job.id;
  o["templateId"] = job.template_id;
  o["name"] = job.name;
  o["description"] = job.description;
  o["state"] = job_state_name(state);
  o["errorMessage"] = error ? json::value(json::string(*error)) : json::value(nullptr);
  o["createdAt"] = format_rfc3339(job.created_at);
  o["submittedAt"] = time_or_null(job.run_at);
  o["startedAt"] = time_or_null(job.run_at);
  o["endedAt"] = time_or_null(ended);
  if (ended && job.run_at) {
    const auto secs =
        std::chrono::duration_cast<std::chrono::seconds>(*ended - *job.run_at).count();
    o["duration"] = std::to_string(secs);  // int64 -> string
  } else {
    o["duration"] = nullptr;
  }
  o["dataSource"] = job.data_source;
  o["dataDestination"] = job.data_destination;
  o["params"] = job.params_set ? json::value(job.params) : json::value(nullptr);
  o["config"] = job.config;
  o["paymentAmount"] = "0";
  return o;
}

json::object template_info_json(const Job& job) {
  json::object o;
  o["id"] = job.template_id;
  o["owner"] = "bytenite-emulator";
  o["description"] = "emulated template";
  o["app"] = nullptr;
  o["partitioner"] = nullptr;
  o["assembler"] = nullptr;
  return o;
}

std::string job_envelope(const Job& job, TimePoint now) {
  json::object o;
  o["job"] = job_json(job, now);
  o["templateInfo"] = template_info_json(job);
  return json::serialize(o);
}

}  // namespace emulator
