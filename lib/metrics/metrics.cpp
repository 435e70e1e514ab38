// Role: Prometheus metric families of the daemon (see metrics.hpp).
#include "metrics/metrics.hpp"


namespace submitd::metrics {
using namespace prometheus;

namespace {
constexpr std::array<std::string_view, 7> kStages = {"validate", "create",          "datasource", "upload",
                                                     "uploadcompleted", "params", "run"};

Histogram::BucketBoundaries latency_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}
}  // namespace

DaemonMetrics::DaemonMetrics(const std::string& version, const std::string& revision)
    : registry_(std::make_shared<Registry>()) {
  const std::string p = "bytenite_submitd_";
  BuildGauge()
      .Name(p + "build_info")
      .Help("Build of the running daemon; always 1")
      .Register(*registry_)
      .Add({{"version", version}, {"revision", revision}})
      .Set(1);
  accepted_ = &BuildCounter().Name(p + "jobs_accepted_total").Help("Requests accepted (claimed or posted)").Register(*registry_).Add({});
  submitted_ = &BuildCounter().Name(p + "jobs_submitted_total").Help("Requests whose job was created, configured and run").Register(*registry_).Add({});
  duplicate_ = &BuildCounter().Name(p + "jobs_duplicate_total").Help("Requests recognized as duplicates of an earlier requestId").Register(*registry_).Add({});
  failed_family_ = &BuildCounter().Name(p + "jobs_failed_total").Help("Requests that failed for good, by stage").Register(*registry_);
  for (auto s : kStages) failed_family_->Add({{"stage", std::string(s)}});
  inflight_ = &BuildGauge().Name(p + "jobs_inflight").Help("Requests being submitted now").Register(*registry_).Add({});
  backlog_files_ = &BuildGauge().Name(p + "spool_backlog_files").Help("Files waiting in incoming/ and active/").Register(*registry_).Add({});
  oldest_age_ = &BuildGauge().Name(p + "oldest_waiting_request_age_seconds").Help("Age of the oldest request not yet finished").Register(*registry_).Add({});
  http_requests_ = &BuildCounter().Name(p + "http_requests_total").Help("Requests to the ByteNite API by endpoint and status code (or transport failure)").Register(*registry_);
  http_duration_ = &BuildHistogram().Name(p + "http_request_duration_seconds").Help("Duration of requests to the ByteNite API").Register(*registry_);
  for (std::size_t i = 0; i < api::kAllEndpoints.size(); ++i) {
    std::string e(api::endpoint_name(api::kAllEndpoints[i]));
    http_duration_by_endpoint_[i] = &http_duration_->Add({{"endpoint", e}}, latency_buckets());
    for (std::size_t c = 0; c < kKnownCodes.size(); ++c) {
      http_known_[i][c] = &http_requests_->Add({{"endpoint", e}, {"code", std::string(kKnownCodes[c])}});
    }
  }
  submit_duration_ = &BuildHistogram().Name(p + "job_submit_duration_seconds").Help("From acceptance to run acknowledged").Register(*registry_).Add(
      {}, Histogram::BucketBoundaries{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600});
  retries_ = &BuildCounter().Name(p + "retries_total").Help("Deferred API calls by endpoint and reason").Register(*registry_);
  for (std::size_t i = 0; i < api::kAllEndpoints.size(); ++i) {
    std::string e(api::endpoint_name(api::kAllEndpoints[i]));
    for (std::size_t r = 0; r < kRetryReasons.size(); ++r) {
      retry_known_[i][r] = &retries_->Add({{"endpoint", e}, {"reason", std::string(kRetryReasons[r])}});
    }
  }
  auto& paced = BuildCounter().Name(p + "calls_paced_total").Help("API calls held back by the retry budget or the rate limit").Register(*registry_);
  paced_by_budget_ = &paced.Add({{"by", "retry_budget"}});
  paced_by_rate_ = &paced.Add({{"by", "rate_limit"}});
  paced_by_job_cap_ = &paced.Add({{"by", "jobs_per_minute"}});
  paced_by_retry_after_ = &paced.Add({{"by", "retry_after"}});
  account_rate_ = &BuildGauge()
                       .Name(p + "api_rate_limit")
                       .Help("API calls per second the daemon allows itself now (adaptive or api.rate_limit_per_second); 0: no limit")
                       .Register(*registry_)
                       .Add({});
  account_held_ = &BuildCounter()
                       .Name(p + "api_held_seconds_total")
                       .Help("Seconds every API call was held by a Retry-After of the account")
                       .Register(*registry_)
                       .Add({});
  token_refreshes_ = &BuildCounter().Name(p + "token_refreshes_total").Help("Access-token exchanges").Register(*registry_).Add({});
  connections_open_ = &BuildGauge().Name(p + "connections_open").Help("Open TLS connections to the API").Register(*registry_).Add({});
  control_open_ = &BuildGauge().Name(p + "control_connections_open").Help("Open connections to the control socket").Register(*registry_).Add({});
  control_refused_ = &BuildCounter().Name(p + "control_connections_refused_total").Help("Control-socket connections answered 503 at the connection cap").Register(*registry_).Add({});
  paused_ = &BuildGauge().Name(p + "paused").Help("1 while submitting is paused").Register(*registry_).Add({});
  journal_stalled_ = &BuildGauge()
                          .Name(p + "journal_stalled")
                          .Help("1 while the journal cannot commit (disk full, I/O error): accepted work waits")
                          .Register(*registry_)
                          .Add({});
  uploads_in_flight_ = &BuildGauge().Name(p + "uploads_in_flight").Help("Inputs being uploaded now (inputFile)").Register(*registry_).Add({});
  upload_bytes_ = &BuildCounter().Name(p + "upload_bytes_total").Help("Bytes of inputs uploaded (uploads that succeeded)").Register(*registry_).Add({});
  auto& uploads = BuildCounter().Name(p + "uploads_total").Help("Input uploads (PUTs) by result: ok, or failed (retried or final)").Register(*registry_);
  uploads_ok_ = &uploads.Add({{"result", "ok"}});
  uploads_failed_ = &uploads.Add({{"result", "failed"}});
  upload_duration_ = &BuildHistogram().Name(p + "upload_duration_seconds").Help("Duration of input uploads that succeeded").Register(*registry_).Add(
      {}, Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600});
  downloads_in_flight_ = &BuildGauge().Name(p + "downloads_in_flight").Help("Results being downloaded now (results.download_dir)").Register(*registry_).Add({});
  download_bytes_ = &BuildCounter().Name(p + "download_bytes_total").Help("Bytes of results downloaded (downloads that succeeded)").Register(*registry_).Add({});
  auto& downloads = BuildCounter().Name(p + "downloads_total").Help("Result download attempts by result: ok, retried, or failed (given up)").Register(*registry_);
  for (std::size_t i = 0; i < kDownloadResults.size(); ++i) downloads_[i] = &downloads.Add({{"result", std::string(kDownloadResults[i])}});
  download_duration_ = &BuildHistogram().Name(p + "download_duration_seconds").Help("Duration of result downloads that succeeded").Register(*registry_).Add(
      {}, Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600});
  auto& messages = BuildCounter()
                      .Name(p + "jetstream_messages_total")
                      .Help("JetStream intake messages by event: fetched, redelivered (fetched again), acked, "
                            "terminated (poison), returned (given back at a stop)")
                      .Register(*registry_);
  for (std::size_t i = 0; i < kMessageEvents.size(); ++i) messages_[i] = &messages.Add({{"event", std::string(kMessageEvents[i])}});
  jetstream_connected_ = &BuildGauge().Name(p + "jetstream_connected").Help("1 while the JetStream intake works with its cluster").Register(*registry_).Add({});
  fleet_members_ = &BuildGauge().Name(p + "jetstream_fleet_members").Help("Live daemons sharing submit.max_jobs_per_minute through the fleet's bucket (0: not shared)").Register(*registry_).Add({});
  auto& consumer = BuildGauge().Name(p + "jetstream_consumer_messages").Help("The shared consumer's messages: pending (not yet delivered) and ack_pending (delivered, not acked), for the whole fleet").Register(*registry_);
  consumer_pending_ = &consumer.Add({{"state", "pending"}});
  consumer_ack_pending_ = &consumer.Add({{"state", "ack_pending"}});
  followed_ = &BuildGauge().Name(p + "jobs_followed").Help("Jobs followed now until they end (job following)").Register(*registry_).Add({});
  auto& ended = BuildCounter()
                    .Name(p + "jobs_ended_total")
                    .Help("Followed jobs that ended, by final state (complete, failed, aborted, gave_up, other)")
                    .Register(*registry_);
  for (std::size_t i = 0; i < kEndedLabels.size(); ++i) ended_[i] = &ended.Add({{"state", std::string(kEndedLabels[i])}});
  job_duration_ = &BuildHistogram()
                       .Name(p + "job_duration_seconds")
                       .Help("Running time of followed jobs that ended (the API's duration)")
                       .Register(*registry_)
                       .Add({}, Histogram::BucketBoundaries{1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400});
  storage_full_ = &BuildGauge()
                       .Name(p + "storage_full")
                       .Help("1 while no new work is claimed for lack of disk space (spool or state)")
                       .Register(*registry_)
                       .Add({});
  auto& blocked = BuildGauge()
                      .Name(p + "api_blocked")
                      .Help("1 while calls to the API are held for a configuration problem (api.blocked_retry_s): "
                            "the API key refused, or the server's certificate not accepted")
                      .Register(*registry_);
  blocked_key_ = &blocked.Add({{"reason", "key_refused"}});
  blocked_certificate_ = &blocked.Add({{"reason", "certificate"}});
}

Counter& DaemonMetrics::http_counter(api::Endpoint e, const std::string& code) {
  const auto& known = http_known_[static_cast<std::size_t>(e)];
  for (std::size_t c = 0; c < kKnownCodes.size(); ++c) {
    if (kKnownCodes[c] == code) return *known[c];
  }
  std::lock_guard lock(mutex_);
  return http_requests_->Add({{"endpoint", std::string(api::endpoint_name(e))}, {"code", code}});
}

Counter& DaemonMetrics::retry_counter(api::Endpoint e, std::string_view reason) {
  const auto& known = retry_known_[static_cast<std::size_t>(e)];
  for (std::size_t r = 0; r < kRetryReasons.size(); ++r) {
    if (kRetryReasons[r] == reason) return *known[r];
  }
  std::lock_guard lock(mutex_);
  return retries_->Add({{"endpoint", std::string(api::endpoint_name(e))}, {"reason", std::string(reason)}});
}

void DaemonMetrics::request_accepted() { accepted_->Increment(); }

void DaemonMetrics::request_finished(spool::SubmitStatus status, std::string_view stage,
                                     std::chrono::steady_clock::duration accept_to_end) {
  switch (status) {
    case spool::SubmitStatus::submitted:
      submitted_->Increment();
      submit_duration_->Observe(std::chrono::duration<double>(accept_to_end).count());
      break;
    case spool::SubmitStatus::duplicate: duplicate_->Increment(); break;
    case spool::SubmitStatus::failed: {
      std::lock_guard lock(mutex_);
      failed_family_->Add({{"stage", std::string(stage.empty() ? "validate" : stage)}}).Increment();
      break;
    }
  }
}

void DaemonMetrics::retry_scheduled(api::Endpoint endpoint, std::string_view reason) {
  retry_counter(endpoint, reason).Increment();
}

void DaemonMetrics::call_paced(std::string_view why) {
  (why == "retry_budget"      ? paced_by_budget_
   : why == "jobs_per_minute" ? paced_by_job_cap_
   : why == "retry_after"     ? paced_by_retry_after_
                              : paced_by_rate_)
      ->Increment();
}

void DaemonMetrics::account_rate_changed(double calls_per_second) { account_rate_->Set(calls_per_second); }

void DaemonMetrics::account_held(double seconds) { account_held_->Increment(seconds); }

void DaemonMetrics::inflight_changed(std::size_t inflight) { inflight_->Set(static_cast<double>(inflight)); }

void DaemonMetrics::backlog_changed(std::size_t files, double oldest_age_seconds) {
  backlog_files_->Set(static_cast<double>(files));
  oldest_age_->Set(oldest_age_seconds);
}

void DaemonMetrics::api_exchange(const api::HttpCall& call, const api::HttpResult& result,
                                 std::chrono::nanoseconds duration) {
  // The contract's code values for "no response" are timeout, reset, tls and connect; a
  // refused certificate is TLS trouble (the log and the outcome say which).
  std::string code = result.has_response() ? std::to_string(result.status)
                     : result.failure == api::TransportFailure::certificate
                         ? std::string("tls")
                         : std::string(api::transport_failure_name(result.failure));
  http_counter(call.endpoint, code).Increment();
  // A refused certificate holds every call until a handshake succeeds again (any answer).
  if (result.failure == api::TransportFailure::certificate) blocked_certificate_->Set(1);
  else if (result.has_response()) blocked_certificate_->Set(0);
  http_duration_by_endpoint_[static_cast<std::size_t>(call.endpoint)]->Observe(
      std::chrono::duration<double>(duration).count());
}

void DaemonMetrics::token_refreshed() { token_refreshes_->Increment(); }
void DaemonMetrics::key_refused(bool refused) { blocked_key_->Set(refused ? 1 : 0); }
void DaemonMetrics::set_connections_open(std::size_t n) { connections_open_->Set(static_cast<double>(n)); }

void DaemonMetrics::set_control_connections_open(std::size_t n) { control_open_->Set(static_cast<double>(n)); }

void DaemonMetrics::control_connection_refused() { control_refused_->Increment(); }
void DaemonMetrics::paused_changed(bool paused) { paused_->Set(paused ? 1 : 0); }
void DaemonMetrics::journal_stalled(bool stalled) { journal_stalled_->Set(stalled ? 1 : 0); }
void DaemonMetrics::storage_changed(bool full) { storage_full_->Set(full ? 1 : 0); }
void DaemonMetrics::followed_changed(std::size_t followed) { followed_->Set(static_cast<double>(followed)); }
void DaemonMetrics::job_ended(std::string_view label, std::optional<double> duration_s) {
  std::size_t i = 0;
  while (i + 1 < kEndedLabels.size() && kEndedLabels[i] != label) ++i;  // unknown -> "other"
  ended_[i]->Increment();
  if (duration_s && *duration_s >= 0) job_duration_->Observe(*duration_s);
}

void DaemonMetrics::uploads_changed(std::size_t in_flight) { uploads_in_flight_->Set(static_cast<double>(in_flight)); }

void DaemonMetrics::upload_finished(bool ok, std::uint64_t bytes, double seconds) {
  if (!ok) {
    uploads_failed_->Increment();
    return;
  }
  uploads_ok_->Increment();
  upload_bytes_->Increment(static_cast<double>(bytes));
  upload_duration_->Observe(seconds);
}

void DaemonMetrics::downloads_changed(std::size_t in_flight) {
  downloads_in_flight_->Set(static_cast<double>(in_flight));
}

void DaemonMetrics::download_attempted(std::string_view result, std::uint64_t bytes, double seconds) {
  std::size_t i = 0;
  while (i + 1 < kDownloadResults.size() && kDownloadResults[i] != result) ++i;
  downloads_[i]->Increment();
  if (i != 0) return;
  download_bytes_->Increment(static_cast<double>(bytes));
  download_duration_->Observe(seconds);
}

}  // namespace submitd::metrics

namespace submitd::metrics {

void DaemonMetrics::messages(std::string_view event, std::uint64_t count) {
  for (std::size_t i = 0; i < kMessageEvents.size(); ++i) {
    if (kMessageEvents[i] == event) messages_[i]->Increment(static_cast<double>(count));
  }
}

void DaemonMetrics::connected(bool up) { jetstream_connected_->Set(up ? 1 : 0); }
void DaemonMetrics::fleet_members(std::size_t live) { fleet_members_->Set(static_cast<double>(live)); }

void DaemonMetrics::pending(std::uint64_t not_delivered, std::uint64_t not_acked) {
  consumer_pending_->Set(static_cast<double>(not_delivered));
  consumer_ack_pending_->Set(static_cast<double>(not_acked));
}

}  // namespace submitd::metrics
