// Ledger: what the emulator received and did, so tests and benchmarks can assert on it
// (e.g. "exactly one run per job", "N token exchanges"). Global counts are atomics, kept as
// running totals so the summary stays O(1) however many jobs a benchmark created; per-job
// counts (JobCounters) live with each job in the JobStore.
#pragma once

#include <array>
#include <atomic>
#include <boost/json/object.hpp>
#include <cstdint>
#include <string_view>

namespace emulator {

struct JobCounters {
  std::uint64_t creates = 0;           // successful creates and create-updates
  std::uint64_t rejected_creates = 0;  // creates refused because the job had started
  std::uint64_t datasource_patches = 0;
  std::uint64_t params_patches = 0;
  std::uint64_t runs = 0;           // successful runs (at most one per job lifetime)
  std::uint64_t rejected_runs = 0;  // runs refused (already started, no data source)
  std::uint64_t aborts = 0;
  std::uint64_t deletes = 0;
  std::uint64_t uploads = 0;  // PUTs to the tempUrl that arrived whole
};

class Ledger {
 public:
  enum class Count : std::size_t {
    // requests and auth
    requests,          // every request to /v1/..., faulted or not
    token_exchanges,   // successful exchanges
    token_rejections,  // exchanges refused (bad or missing key)
    unauthorized,      // customer requests refused with 401 (missing/unknown/expired token)
    // job totals (sum of JobCounters)
    creates,
    rejected_creates,
    datasource_patches,
    params_patches,
    runs,
    rejected_runs,
    aborts,
    deletes,
    gets,
    lists,
    results,
    // injected faults
    injected_503,
    injected_429,
    injected_other,  // scripted statuses other than 503/429
    resets_before,
    resets_after,
    interim_103,  // 103 Early Hints sent before an answer
    // the account limit (--rate-limit): calls refused with 429
    account_429,
    // the storage endpoint (uploads)
    storage_requests,      // every request to it, faulted or not
    uploads,               // PUTs that arrived whole
    upload_bytes,          // their bytes
    storage_503,           // answered 503 before the body (fault)
    storage_resets_before,  // dropped before the body (fault)
    storage_resets_mid_body,  // dropped half way through the body (fault)
    storage_slow_bodies,   // bodies read (or sent) slowly (fault)
    downloads,             // results sent whole
    download_bytes,        // their bytes
    // connections
    idle_closes,  // keep-alive connections closed by the idle timeout (--idle-timeout-s)
    count_
  };

  void add(Count c, std::uint64_t n = 1) { slot(c).fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t get(Count c) const { return slot(c).load(std::memory_order_relaxed); }
  void reset();

  // {"tokenExchanges":..,"tokenRejections":..,"requests":..,"unauthorized":..,
  //  "faults":{...},"connections":{"closedIdle":..},"totals":{"jobs":live_and_deleted_jobs,...}}
  boost::json::object summary_json(std::uint64_t jobs) const;

 private:
  std::atomic<std::uint64_t>& slot(Count c) { return counts_[static_cast<std::size_t>(c)]; }
  const std::atomic<std::uint64_t>& slot(Count c) const {
    return counts_[static_cast<std::size_t>(c)];
  }
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Count::count_)> counts_{};
};

boost::json::object job_counters_json(const JobCounters& c);

}  // namespace emulator
