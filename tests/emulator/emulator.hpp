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
};

class Emulator {
 public:
  Emulator(EmulatorSettings settings, const Clock& clock);

  ApiResponse handle(const ApiRequest& request);

  const Ledger& ledger() const { return ledger_; }
  // The HTTPS layer closed a keep-alive connection that stayed idle past its timeout.
  void connection_closed_idle() { ledger_.add(Ledger::Count::idle_closes); }
  const JobStore& jobs() const { return jobs_; }
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
  TokenIssuer tokens_;
  JobStore jobs_;
  FaultPlan faults_;
  AccountLimits limits_;
  Ledger ledger_;
  RandomSource ids_;  // job ids and GenericResponse request ids
};

}  // namespace emulator
