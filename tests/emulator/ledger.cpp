// Ledger rendering and reset.
#include "ledger.hpp"

namespace emulator {

void Ledger::reset() {
  for (auto& c : counts_) c.store(0, std::memory_order_relaxed);
}

boost::json::object Ledger::summary_json(std::uint64_t jobs) const {
  boost::json::object out;
  out["tokenExchanges"] = get(Count::token_exchanges);
  out["tokenRejections"] = get(Count::token_rejections);
  out["requests"] = get(Count::requests);
  out["unauthorized"] = get(Count::unauthorized);
  out["throttled429"] = get(Count::account_429);  // refused by the account limit

  boost::json::object faults;
  faults["injected503"] = get(Count::injected_503);
  faults["injected429"] = get(Count::injected_429);
  faults["injectedOther"] = get(Count::injected_other);
  faults["resetsBefore"] = get(Count::resets_before);
  faults["resetsAfter"] = get(Count::resets_after);
  faults["interim103"] = get(Count::interim_103);
  out["faults"] = std::move(faults);

  boost::json::object storage;
  storage["requests"] = get(Count::storage_requests);
  storage["uploads"] = get(Count::uploads);
  storage["uploadBytes"] = get(Count::upload_bytes);
  storage["injected503"] = get(Count::storage_503);
  storage["resetsBefore"] = get(Count::storage_resets_before);
  storage["resetsMidBody"] = get(Count::storage_resets_mid_body);
  storage["slowBodies"] = get(Count::storage_slow_bodies);
  storage["downloads"] = get(Count::downloads);
  storage["downloadBytes"] = get(Count::download_bytes);
  out["storage"] = std::move(storage);

  // So a test can wait for the server's idle close instead of sleeping past the timeout.
  boost::json::object connections;
  connections["closedIdle"] = get(Count::idle_closes);
  out["connections"] = std::move(connections);

  boost::json::object totals;
  totals["jobs"] = jobs;
  totals["creates"] = get(Count::creates);
  totals["rejectedCreates"] = get(Count::rejected_creates);
  totals["datasourcePatches"] = get(Count::datasource_patches);
  totals["paramsPatches"] = get(Count::params_patches);
  totals["runs"] = get(Count::runs);
  totals["rejectedRuns"] = get(Count::rejected_runs);
  totals["aborts"] = get(Count::aborts);
  totals["deletes"] = get(Count::deletes);
  totals["gets"] = get(Count::gets);
  totals["lists"] = get(Count::lists);
  totals["results"] = get(Count::results);
  out["totals"] = std::move(totals);
  return out;
}

boost::json::object job_counters_json(const JobCounters& c) {
  boost::json::object o;
  o["creates"] = c.creates;
  o["rejectedCreates"] = c.rejected_creates;
  o["datasourcePatches"] = c.datasource_patches;
  o["paramsPatches"] = c.params_patches;
  o["runs"] = c.runs;
  o["rejectedRuns"] = c.rejected_runs;
  o["aborts"] = c.aborts;
  o["deletes"] = c.deletes;
  o["uploads"] = c.uploads;
  return o;
}

}  // namespace emulator
