// Role: what the submission side reports as it works, for metrics and status. The daemon wires
// a Prometheus-backed implementation; tests may count. Default methods do nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "api/http_call.hpp"
#include "jetstream/message_loop.hpp"
#include "spool/outcome.hpp"

namespace submitd::submit {

// The JetStream intake's loop reports through the same object (its LoopEvents).
class SubmitEvents : public jetstream::LoopEvents {
 public:
  virtual ~SubmitEvents() = default;
  virtual void request_accepted() {}
  // `stage` is set for failures (validate, create, datasource, params, run).
  virtual void request_finished(spool::SubmitStatus, std::string_view /*stage*/,
                                std::chrono::steady_clock::duration /*accept_to_end*/) {}
  virtual void retry_scheduled(api::Endpoint, std::string_view /*reason*/) {}
  // A call was held back by the retry budget ("retry_budget") or the rate limit ("rate_limit").
  virtual void call_paced(std::string_view /*why*/) {}
  virtual void inflight_changed(std::size_t /*inflight*/) {}
  // The account rate the daemon allows itself now (calls/s; 0: no limit), and a Retry-After
  // that held every call for `seconds` more.
  virtual void account_rate_changed(double /*calls_per_second*/) {}
  virtual void account_held(double /*seconds*/) {}
  virtual void paused_changed(bool /*paused*/) {}
  // Job following: how many jobs are followed now; a followed job ended (label from
  // follow_book's ended_label, or "gave_up") after `duration_s` of running, when known.
  virtual void followed_changed(std::size_t /*followed*/) {}
  virtual void job_ended(std::string_view /*label*/, std::optional<double> /*duration_s*/) {}
  // Claiming stopped for lack of disk space (true) or started again (false).
  virtual void storage_changed(bool /*full*/) {}
  virtual void backlog_changed(std::size_t /*files_waiting*/, double /*oldest_age_seconds*/) {}
  // Inputs being uploaded now; an upload's end (its bytes when it succeeded) after `seconds`.
  virtual void uploads_changed(std::size_t /*in_flight*/) {}
  virtual void upload_finished(bool /*ok*/, std::uint64_t /*bytes*/, double /*seconds*/) {}
  // Results being downloaded now; one attempt's end: its result (ok, retried, failed: given
  // up) and the bytes it wrote.
  virtual void downloads_changed(std::size_t /*in_flight*/) {}
  virtual void download_attempted(std::string_view /*result*/, std::uint64_t /*bytes*/, double /*seconds*/) {}
};

}  // namespace submitd::submit
