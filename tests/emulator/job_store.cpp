// JobStore implementation: one mutex, one hash map, an ordered index for stable pagination.
// Measured under wrk this is far from the bottleneck (TLS and HTTP parsing dominate), so it is
// not sharded; see bench/README.md.
#include "job_store.hpp"

#include <iterator>

namespace emulator {

JobStore::Record* JobStore::find_live_locked(const std::string& id) const {
  auto it = records_.find(id);
  if (it == records_.end() || it->second->deleted) return nullptr;
  return it->second.get();
}

StoreResult JobStore::create_or_update(CreateSpec spec, TimePoint now) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = records_.try_emplace(spec.id);
  if (inserted) {
    it->second = std::make_unique<Record>();
    ledger_order_.push_back(it->second.get());
  }
  Record& r = *it->second;
  StoreOutcome outcome = StoreOutcome::updated;
  if (inserted || r.deleted) {
    // A fresh job, or the same id reused after its job was deleted: start from scratch
    // but keep the ledger counts, which describe the id's whole history.
    r.job = Job{};
    r.job.id = spec.id;
    r.job.created_at = now;
    r.deleted = false;
    r.list_seq = next_seq_++;
    live_order_.emplace(r.list_seq, &r);
    outcome = StoreOutcome::created;
  } else if (r.job.state_at(now) != JobState::new_) {
    ++r.counters.rejected_creates;
    return {StoreOutcome::already_started, r.job};
  }
  r.job.template_id = std::move(spec.template_id);
  r.job.name = std::move(spec.name);
  r.job.description = std::move(spec.description);
  if (spec.data_source) r.job.data_source = std::move(*spec.data_source);
  if (spec.data_destination) r.job.data_destination = std::move(*spec.data_destination);
  if (spec.params) {
    for (auto& kv : *spec.params) r.job.params[kv.key()] = kv.value();
    r.job.params_set = true;
  }
  ++r.counters.creates;
  return {outcome, r.job};
}

std::optional<Job> JobStore::get(const std::string& id) const {
  std::lock_guard lock(mutex_);
  if (const Record* r = find_live_locked(id)) return r->job;
  return std::nullopt;
}

JobPage JobStore::list(std::uint64_t offset, std::uint64_t limit) const {
  std::lock_guard lock(mutex_);
  JobPage page;
  page.total = live_order_.size();
  if (offset >= page.total) return page;
  // O(offset) walk; fine for a test double (lists are rare next to the submit sequence).
  auto it = std::next(live_order_.begin(), static_cast<std::ptrdiff_t>(offset));
  for (; it != live_order_.end() && page.jobs.size() < limit; ++it)
    page.jobs.push_back(it->second->job);
  return page;
}

StoreResult JobStore::set_data_source(const std::string& id, boost::json::value source,
                                      boost::json::value destination, TimePoint now) {
  std::lock_guard lock(mutex_);
  Record* r = find_live_locked(id);
  if (!r) return {StoreOutcome::not_found, {}};
  if (r->job.state_at(now) != JobState::new_) return {StoreOutcome::already_started, r->job};
  r->job.data_source = std::move(source);
  r->job.data_destination = std::move(destination);
  r->job.upload_completed = false;  // a new source, a new tempUrl
  r->job.upload_bytes.reset();
  r->job.upload_sha256.clear();
  ++r->counters.datasource_patches;
  return {StoreOutcome::ok, r->job};
}

StoreResult JobStore::merge_params(const std::string& id, const boost::json::object& params,
                                   TimePoint now) {
  std::lock_guard lock(mutex_);
  Record* r = find_live_locked(id);
  if (!r) return {StoreOutcome::not_found, {}};
  if (r->job.state_at(now) != JobState::new_) return {StoreOutcome::already_started, r->job};
  for (const auto& kv : params) r->job.params[kv.key()] = kv.value();
  r->job.params_set = true;
  ++r->counters.params_patches;
  return {StoreOutcome::ok, r->job};
}

StoreResult JobStore::run(const std::string& id, boost::json::value config,
                          std::chrono::milliseconds duration, TimePoint now) {
  std::lock_guard lock(mutex_);
  Record* r = find_live_locked(id);
  if (!r) return {StoreOutcome::not_found, {}};
  if (r->job.state_at(now) != JobState::new_) {
    ++r->counters.rejected_runs;
    return {StoreOutcome::already_started, r->job};
  }
  if (!r->job.data_source_set()) {
    ++r->counters.rejected_runs;
    return {StoreOutcome::no_data_source, r->job};
  }
  if (r->job.awaits_upload()) {
    ++r->counters.rejected_runs;
    return {StoreOutcome::upload_pending, r->job};
  }
  r->job.run_at = now;
  r->job.planned_duration = duration;
  r->job.config = std::move(config);
  ++r->counters.runs;
  return {StoreOutcome::ok, r->job};
}

void JobStore::set_upload_token(const std::string& id, std::string token) {
  std::lock_guard lock(mutex_);
  if (Record* r = find_live_locked(id)) r->job.upload_token = std::move(token);
}

StoreResult JobStore::admit_upload(const std::string& id, std::string_view token, TimePoint now) {
  std::lock_guard lock(mutex_);
  Record* r = find_live_locked(id);
  if (!r) return {StoreOutcome::not_found, {}};
  if (r->job.state_at(now) != JobState::new_) return {StoreOutcome::already_started, r->job};
  if (!r->job.awaits_upload() && !r->job.upload_completed) return {StoreOutcome::not_an_upload, r->job};
  if (r->job.upload_token.empty() || token != r->job.upload_token) return {StoreOutcome::bad_upload_token, r->job};
  return {StoreOutcome::ok, r->job};
}

StoreResult JobStore::record_upload(const std::string& id, std::uint64_t bytes, std::string sha256, TimePoint now) {
  std::lock_guard lock(mutex_);
  Record* r = find_live_locked(id);
  if (!r) return {StoreOutcome::not_found, {}};
  if (r->job.state_at(now) != JobState::new_) return {StoreOutcome::already_started, r->job};
  r->job.upload_bytes = bytes;
  r->job.upload_sha256 = std::move(sha256);
  ++r->counters.uploads;
  return {StoreOutcome::ok, r->job};
}

StoreResult JobStore::complete_upload(const std::string& id) {
  std::lock_guard lock(mutex_);
  Record* r = find_live_locked(id);
  if (!r) return {StoreOutcome::not_found, {}};
  if (!r->job.awaits_upload() && !r->job.upload_completed) return {StoreOutcome::not_an_upload, r->job};
  if (!r->job.upload_bytes) return {StoreOutcome::upload_missing, r->job};
  r->job.upload_completed = true;
  return {StoreOutcome::ok, r->job};
}

StoreResult JobStore::abort(const std::string& id, TimePoint now) {
  std::lock_guard lock(mutex_);
  Record* r = find_live_locked(id);
  if (!r) return {StoreOutcome::not_found, {}};
  const JobState s = r->job.state_at(now);
  if (is_terminal(s)) return {StoreOutcome::already_ended, r->job};
  ++r->counters.aborts;
  if (s == JobState::new_) {
    // ByteNite: "a job that is incomplete and not yet started gets deleted".
    r->deleted = true;
    live_order_.erase(r->list_seq);
    return {StoreOutcome::deleted, r->job};
  }
  r->job.aborted_at = now;
  return {StoreOutcome::aborted, r->job};
}

StoreResult JobStore::remove(const std::string& id) {
  std::lock_guard lock(mutex_);
  Record* r = find_live_locked(id);
  if (!r) return {StoreOutcome::not_found, {}};
  r->deleted = true;
  ++r->counters.deletes;
  live_order_.erase(r->list_seq);
  return {StoreOutcome::deleted, r->job};
}

std::vector<LedgerEntry> JobStore::ledger_entries(TimePoint now) const {
  std::lock_guard lock(mutex_);
  std::vector<LedgerEntry> out;
  out.reserve(ledger_order_.size());
  for (const Record* r : ledger_order_) {
    const auto* config = r->job.config.if_object();
    const auto* test_job = config ? config->if_contains("isTestJob") : nullptr;
    out.push_back({r->job.id, r->job.template_id, r->job.name, r->job.state_at(now), r->deleted,
                   r->job.data_source_set(), r->job.params_set, r->counters,
                   test_job != nullptr && test_job->is_bool() && test_job->get_bool(), r->job.upload_bytes,
                   r->job.upload_sha256});
  }
  return out;
}

std::uint64_t JobStore::ledger_size() const {
  std::lock_guard lock(mutex_);
  return ledger_order_.size();
}

void JobStore::clear() {
  std::lock_guard lock(mutex_);
  live_order_.clear();
  ledger_order_.clear();
  records_.clear();
}

}  // namespace emulator
