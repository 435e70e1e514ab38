// The job state machine, evaluated lazily against the clock.
#include "job.hpp"

namespace emulator {

std::string_view job_state_name(JobState s) {
  switch (s) {
    case JobState::new_:
      return "JOB_STATE_NEW";
    case JobState::partitioning:
      return "JOB_STATE_PARTITIONING";
    case JobState::running:
      return "JOB_STATE_RUNNING";
    case JobState::complete:
      return "JOB_STATE_COMPLETE";
    case JobState::failed:
      return "JOB_STATE_FAILED";
    case JobState::aborted:
      return "JOB_STATE_ABORTED";
  }
  return "JOB_STATE_UNSPECIFIED";
}

bool is_terminal(JobState s) {
  return s == JobState::complete || s == JobState::failed || s == JobState::aborted;
}

JobState Job::state_at(TimePoint now) const {
  if (!run_at) return JobState::new_;
  const auto end = *run_at + planned_duration;
  // An abort only counts if it came before the natural end (abort refuses terminal jobs,
  // but a job can end between the read and the abort within one lock; be exact anyway).
  if (aborted_at && *aborted_at < end) return JobState::aborted;
  if (now >= end) return will_fail() ? JobState::failed : JobState::complete;
  // The first 10% of the run is partitioning, as a real job first splits its input.
  if (now - *run_at < planned_duration / 10) return JobState::partitioning;
  return JobState::running;
}

std::optional<TimePoint> Job::ended_at(TimePoint now) const {
  switch (state_at(now)) {
    case JobState::aborted:
      return aborted_at;
    case JobState::complete:
    case JobState::failed:
      return *run_at + planned_duration;
    default:
      return std::nullopt;
  }
}

std::optional<std::string> Job::error_message_at(TimePoint now) const {
  if (state_at(now) != JobState::failed) return std::nullopt;
  return "task 0 failed: emulated failure for template \"" + template_id + "\"";
}

bool Job::awaits_upload() const {
  if (upload_completed || !data_source.is_object()) return false;
  const auto* descriptor = data_source.get_object().if_contains("dataSourceDescriptor");
  return descriptor && descriptor->is_string() && descriptor->get_string() == "file";
}

}  // namespace emulator
