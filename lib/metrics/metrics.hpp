// Role: the daemon's Prometheus metrics (prefix bytenite_submitd_), registered once at start
// with every known label value created up front so each series exists from the first scrape.
// Labels never carry request or job ids. Records SubmitEvents and every API exchange.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "api/http_call.hpp"
#include "metrics/process_metrics.hpp"
#include "submit/submit_events.hpp"

namespace submitd::metrics {

class DaemonMetrics final : public submit::SubmitEvents {
 public:
  DaemonMetrics(const std::string& version, const std::string& revision);

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  // The process_* metrics, to expose beside the registry (an exposer holds only a weak_ptr).
  std::shared_ptr<prometheus::Collectable> process_collector() const { return process_; }

  // SubmitEvents
  void request_accepted() override;
  void request_finished(spool::SubmitStatus status, std::string_view stage,
                        std::chrono::steady_clock::duration accept_to_end) override;
  void retry_scheduled(api::Endpoint endpoint, std::string_view reason) override;
  void call_paced(std::string_view why) override;
  void inflight_changed(std::size_t inflight) override;
  void account_rate_changed(double calls_per_second) override;
  void account_held(double seconds) override;
  void backlog_changed(std::size_t files, double oldest_age_seconds) override;

  void api_exchange(const api::HttpCall& call, const api::HttpResult& result,
                    std::chrono::nanoseconds duration);
  void token_refreshed();
  // The last token exchange that got an answer refused the key (api_blocked{reason="key_refused"}).
  void key_refused(bool refused);
  void set_connections_open(std::size_t n);
  // The control socket: connections open now, and one refused at its cap.
  void set_control_connections_open(std::size_t n);
  void control_connection_refused();
  void paused_changed(bool paused) override;
  // The journal cannot commit (any thread).
  void journal_stalled(bool stalled);
  void storage_changed(bool full) override;
  void followed_changed(std::size_t followed) override;
  void job_ended(std::string_view label, std::optional<double> duration_s) override;
  void uploads_changed(std::size_t in_flight) override;
  void upload_finished(bool ok, std::uint64_t bytes, double seconds) override;
  void downloads_changed(std::size_t in_flight) override;
  void download_attempted(std::string_view result, std::uint64_t bytes, double seconds) override;
  // The JetStream intake (its loop's threads call these).
  void messages(std::string_view event, std::uint64_t count) override;
  void connected(bool up) override;
  void pending(std::uint64_t not_delivered, std::uint64_t not_acked) override;
  void fleet_members(std::size_t live) override;

 private:
  prometheus::Counter& http_counter(api::Endpoint e, const std::string& code);
  prometheus::Counter& retry_counter(api::Endpoint e, std::string_view reason);

  // Children for the label values created at start, looked up without building a label map
  // (every API call records one): [endpoint][index in the known-code / reason lists].
  static constexpr std::array<std::string_view, 12> kKnownCodes = {
      "200", "400", "401", "403", "404", "429", "500", "503", "timeout", "reset", "tls", "connect"};
  static constexpr std::array<std::string_view, 8> kRetryReasons = {
      "timeout", "reset", "tls", "connect", "429", "5xx", "401", "token"};
  std::array<std::array<prometheus::Counter*, kKnownCodes.size()>, api::kAllEndpoints.size()> http_known_{};
  std::array<std::array<prometheus::Counter*, kRetryReasons.size()>, api::kAllEndpoints.size()> retry_known_{};

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> process_ = std::make_shared<ProcessCollector>();
  prometheus::Counter* accepted_;
  prometheus::Counter* submitted_;
  prometheus::Counter* duplicate_;
  prometheus::Family<prometheus::Counter>* failed_family_;
  prometheus::Gauge* inflight_;
  prometheus::Gauge* backlog_files_;
  prometheus::Gauge* oldest_age_;
  prometheus::Family<prometheus::Counter>* http_requests_;
  prometheus::Family<prometheus::Histogram>* http_duration_;
  std::array<prometheus::Histogram*, api::kAllEndpoints.size()> http_duration_by_endpoint_{};
  prometheus::Histogram* submit_duration_;
  prometheus::Family<prometheus::Counter>* retries_;
  prometheus::Counter* token_refreshes_;
  prometheus::Counter* paced_by_budget_;
  prometheus::Counter* paced_by_rate_;
  prometheus::Counter* paced_by_job_cap_;
  prometheus::Counter* paced_by_retry_after_;
  prometheus::Gauge* account_rate_;
  prometheus::Counter* account_held_;
  prometheus::Gauge* connections_open_;
  prometheus::Gauge* control_open_;
  prometheus::Counter* control_refused_;
  prometheus::Gauge* paused_;
  prometheus::Gauge* journal_stalled_;
  prometheus::Gauge* storage_full_;
  prometheus::Gauge* blocked_key_;
  prometheus::Gauge* blocked_certificate_;
  // Job following: the ended states' labels are a fixed set (follow_book's ended_label).
  static constexpr std::array<std::string_view, 5> kEndedLabels = {"complete", "failed", "aborted", "gave_up",
                                                                   "other"};
  prometheus::Gauge* followed_;
  std::array<prometheus::Counter*, kEndedLabels.size()> ended_{};
  prometheus::Histogram* job_duration_;
  prometheus::Gauge* uploads_in_flight_;
  prometheus::Counter* upload_bytes_;
  prometheus::Counter* uploads_ok_;
  prometheus::Counter* uploads_failed_;
  prometheus::Histogram* upload_duration_;
  // Result downloads: each attempt ok, retried, or failed (given up).
  static constexpr std::array<std::string_view, 3> kDownloadResults = {"ok", "retried", "failed"};
  prometheus::Gauge* downloads_in_flight_;
  prometheus::Counter* download_bytes_;
  std::array<prometheus::Counter*, kDownloadResults.size()> downloads_{};
  prometheus::Histogram* download_duration_;
  // JetStream intake messages by event.
  static constexpr std::array<std::string_view, 5> kMessageEvents = {"fetched", "redelivered", "acked", "terminated",
                                                                     "returned"};
  std::array<prometheus::Counter*, kMessageEvents.size()> messages_{};
  prometheus::Gauge* jetstream_connected_;
  prometheus::Gauge* fleet_members_;
  prometheus::Gauge* consumer_pending_;
  prometheus::Gauge* consumer_ack_pending_;
  std::mutex mutex_;  // guards lazily created label children (codes seen for the first time)
};

}  // namespace submitd::metrics
