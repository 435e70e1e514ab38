// Job: one emulated ByteNite job and its time-driven state machine.
// State is not stored but derived from the run time and the clock whenever it is read
// (NEW -run-> PARTITIONING -> RUNNING -> COMPLETE | FAILED, or ABORTED), so no timer thread
// is needed and unit tests can jump to any instant.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "clock.hpp"

namespace emulator {

enum class JobState { new_, partitioning, running, complete, failed, aborted };

std::string_view job_state_name(JobState s);  // "JOB_STATE_NEW", ...
bool is_terminal(JobState s);

struct Job {
  std::string id;
  std::string template_id;
  std::string name;
  std::string description;
  TimePoint created_at{};

  boost::json::value data_source;       // null until a datasource PATCH (or a one-shot create)
  boost::json::value data_destination;  // null until set
  boost::json::object params;           // app / partitioner / assembler, merged by PATCH
  bool params_set = false;

  std::optional<TimePoint> run_at;                // submittedAt and startedAt
  std::chrono::milliseconds planned_duration{0};  // fixed when run, so later knob changes
                                                  // do not move jobs already running
  boost::json::value config;                      // the run body, normalised; null until run
  std::optional<TimePoint> aborted_at;
  bool upload_completed = false;  // PATCH uploadcompleted since the data source was set
  std::string upload_token;       // the tempUrl's sig= value, new with each "file" data source
  // The last PUT to the tempUrl that arrived whole since the data source was set.
  std::optional<std::uint64_t> upload_bytes;
  std::string upload_sha256;  // hex

  bool data_source_set() const { return !data_source.is_null() && !data_destination.is_null(); }
  // A "file" data source is an upload: the job may run only once it is completed.
  bool awaits_upload() const;
  // "fail-" templates run but end in JOB_STATE_FAILED, so clients can test that path.
  bool will_fail() const { return template_id.starts_with("fail-"); }

  JobState state_at(TimePoint now) const;
  std::optional<TimePoint> ended_at(TimePoint now) const;
  std::optional<std::string> error_message_at(TimePoint now) const;
};

}  // namespace emulator
