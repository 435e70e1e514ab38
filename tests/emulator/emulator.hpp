// Emulator: the whole emulated ByteNite API as one synchronous function from ApiRequest to
// ApiResponse. It owns the TokenIssuer, JobStore, FaultPlan and Ledger and reads time from an
// injected Clock, so unit tests drive it without sockets or sleeping. Thread-safe: the HTTPS
// layer calls handle() from any of its threads.
//
//   /v1/auth/access_token            token exchange
//   /v1/<customer-path>/jobs...      job endpoints (customer_api.cpp)
//   /_emulator/...                   test hooks (test_hooks.cpp), loopback only, no faults
#pragma once

#include <atomic>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "account_limit.hpp"
#include "api_exchange.hpp"
#include "clock.hpp"
#include "fault_plan.hpp"
#include "job_store.hpp"
#include "ledger.hpp"
#include "random_source.hpp"
#include "token_issuer.hpp"

namespace emulator {

struct EmulatorSettings {
  std::vector<std::string> api_keys{"demo-key"};
  std::string customer_path = "customer";  // ByteNite is moving to "computing"
  std::chrono::milliseconds job_duration{2000};
  std::chrono::seconds token_lifetime{3600};
  FaultKnobs faults;
  AccountLimitKnobs account_limit;
  std::optional<std::uint64_t> seed;  // for fault draws
  std::int64_t result_bytes = 1024;    // size of each result a completed job offers
};

class Emulator {
 public:
  Emulator(EmulatorSettings settings, const Clock& clock);

  ApiResponse handle(const ApiRequest& request);

  const Ledger& ledger() const { return ledger_; }
  // The HTTPS layer closed a keep-alive connection that stayed idle past its timeout.
  void connection_closed_idle() { ledger_.add(Ledger::Count::idle_closes); }
  const JobStore& jobs() const { return jobs_; }

  // The storage endpoint (storage_api.cpp), which the HTTPS layer serves on a port of its own:
  // "file" data sources answer with a tempUrl there. Set once, before serving.
  void set_storage_origin(std::string origin) { storage_origin_ = std::move(origin); }
  const std::string& storage_origin() const { return storage_origin_; }
  // What to do with a storage request whose head has arrived: answer it at once (refused, or
  // a faulted 503; its body is not read), drop it, or read its body (an upload of `job_id`),
  // possibly dropping half way or reading slowly.
  struct StorageStart {
    std::optional<ApiResponse> answer;
    bool reset_before = false;
    std::string job_id;
    bool reset_mid_body = false;
    bool reset_after = false;  // take the body whole, then drop the connection unanswered
    std::chrono::milliseconds slow_body{0};
    // A GET of a result: serve this many bytes of result_bytes(download_seed, ...).
    std::optional<std::uint64_t> download_bytes;
    std::uint64_t download_seed = 0;
  };
  StorageStart begin_storage(std::string_view method, std::string_view target);
  // A PUT's body arrived whole: the job's input is these bytes now.
  ApiResponse end_upload(const std::string& job_id, std::uint64_t bytes, std::string sha256_hex);
  // The storage layer dropped a body half way, as a fault asked.
  void storage_reset_mid_body() { ledger_.add(Ledger::Count::storage_resets_mid_body); }
  // The names of a completed job's results: one, or for a "hostile-names-" template, names a
  // client must not take as paths (storage_api.cpp).
  static std::vector<std::string> result_names(std::string_view template_id);
  // The storage layer sent a result's body whole.
  void download_served(std::uint64_t bytes) {
    ledger_.add(Ledger::Count::downloads);
    ledger_.add(Ledger::Count::download_bytes, bytes);
  }
  std::string_view customer_prefix() const { return customer_prefix_; }

 private:
  struct Body {
    std::optional<boost::json::object> object;
    std::optional<ApiResponse> error;  // set when the body is not a JSON object
  };

  ApiResponse route_api(const ApiRequest& request, std::string_view path, std::string_view query);
  ApiResponse exchange_token(const ApiRequest& request);
  std::optional<ApiResponse> check_token(std::string_view authorization);
  // The account limit: nullopt (admitted, `delay` set to the knee's slowdown) or the 429.
  std::optional<ApiResponse> check_account_limit(const ApiRequest& request, std::string_view path,
                                                 std::chrono::milliseconds& delay);
  ApiResponse route_customer(const ApiRequest& request, std::string_view rest,
                             std::string_view query);

  // Job endpoints (customer_api.cpp).
  ApiResponse create_job(std::string_view body);
  ApiResponse get_job(const std::string& id);
  ApiResponse list_jobs(std::string_view query);
  ApiResponse patch_data_source(const std::string& id, std::string_view body);
  ApiResponse patch_params(const std::string& id, std::string_view body);
  ApiResponse answer_draft_patch(const std::string& id, const StoreResult& r, Ledger::Count counted,
                                 TimePoint now);
  ApiResponse run_job(const std::string& id, std::string_view body);
  ApiResponse abort_job(const std::string& id);
  ApiResponse delete_job(const std::string& id);
  ApiResponse upload_completed(const std::string& id);
  ApiResponse job_results(const std::string& id);
  StorageStart begin_download(std::string_view target);

  // Test hooks (test_hooks.cpp).
  ApiResponse route_hook(const ApiRequest& request, std::string_view path);
  ApiResponse ledger_report(bool with_jobs);
  ApiResponse configure(std::string_view body);
  ApiResponse config_report();
  ApiResponse script_fault(std::string_view body);
  ApiResponse reset();

  // Parses a JSON object body; `allow_empty` treats an empty body as {} (run tolerates it).
  Body parse_object(std::string_view body, bool allow_empty) const;
  ApiResponse generic(int status, std::string_view message, std::string_view description);

  const Clock& clock_;
  const std::string customer_prefix_;  // "/v1/customer"
  std::atomic<std::int64_t> job_duration_ms_;
  std::atomic<std::int64_t> result_bytes_;
  TokenIssuer tokens_;
  JobStore jobs_;
  FaultPlan faults_;
  AccountLimits limits_;
  Ledger ledger_;
  RandomSource ids_;  // job ids and GenericResponse request ids
  std::string storage_origin_ = "https://127.0.0.1";
};

}  // namespace emulator
