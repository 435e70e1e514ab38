// JobStore: the emulator's jobs, thread-safe. Each operation is one short critical section
// that checks the job's state and changes it atomically, so two connections racing on one job
// see exactly one winner (as the daemon's "at most one run" promise needs to be tested).
// JSON rendering happens on copies, outside the lock.
//
// A job deleted by abort-while-NEW (or DELETE) disappears from the API but keeps its ledger
// entry, so tests can still see what was done to it.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "clock.hpp"
#include "job.hpp"
#include "ledger.hpp"

namespace emulator {

enum class StoreOutcome {
  created,
  updated,
  ok,
  not_found,
  already_started,  // create-update, patch or run on a job that has left JOB_STATE_NEW
  no_data_source,   // run before a datasource PATCH
  upload_pending,   // run of a "file" job before its uploadcompleted
  not_an_upload,    // a PUT, or uploadcompleted, for a job whose data source is not "file"
  upload_missing,   // uploadcompleted before a whole PUT arrived
  bad_upload_token, // a PUT whose sig= is not the job's current one
  already_ended,    // abort of a terminal job
  aborted,
  deleted,
};

struct StoreResult {
  StoreOutcome outcome;
  Job job;  // the job after the operation (valid unless not_found / deleted)
};

// Fields of a create; the optional one-shot parts are applied only when present.
struct CreateSpec {
  std::string id;
  std::string template_id;
  std::string name;
  std::string description;
  std::optional<boost::json::value> data_source;
  std::optional<boost::json::value> data_destination;
  std::optional<boost::json::object> params;
};

struct LedgerEntry {
  std::string id;
  std::string template_id;
  std::string name;
  JobState state;
  bool deleted;
  bool data_source_set;
  bool params_set;
  JobCounters counters;
  bool test_job = false;  // run with isTestJob true
  std::optional<std::uint64_t> upload_bytes;  // the input that arrived whole, if any
  std::string upload_sha256;
};

struct JobPage {
  std::uint64_t total = 0;
  std::vector<Job> jobs;
};

class JobStore {
 public:
  StoreResult create_or_update(CreateSpec spec, TimePoint now);
  std::optional<Job> get(const std::string& id) const;
  JobPage list(std::uint64_t offset, std::uint64_t limit) const;

  StoreResult set_data_source(const std::string& id, boost::json::value source,
                              boost::json::value destination, TimePoint now);
  StoreResult merge_params(const std::string& id, const boost::json::object& params, TimePoint now);
  StoreResult run(const std::string& id, boost::json::value config,
                  std::chrono::milliseconds duration, TimePoint now);
  StoreResult abort(const std::string& id, TimePoint now);
  // Sets a "file" source's tempUrl token (a new data source, a new URL).
  void set_upload_token(const std::string& id, std::string token);
  // A PUT to the tempUrl may start: the job is new, its source "file", the token its own.
  StoreResult admit_upload(const std::string& id, std::string_view token, TimePoint now);
  // A PUT arrived whole: its size and SHA-256 (hex) are the job's input now.
  StoreResult record_upload(const std::string& id, std::uint64_t bytes, std::string sha256, TimePoint now);
  // PATCH uploadcompleted: the job's upload is done (a new data source undoes it). Refused
  // until a PUT arrived whole.
  StoreResult complete_upload(const std::string& id);
  StoreResult remove(const std::string& id);

  std::vector<LedgerEntry> ledger_entries(TimePoint now) const;
  std::uint64_t ledger_size() const;  // jobs ever created (deleted ones included)
  void clear();

 private:
  struct Record {
    Job job;
    JobCounters counters;
    bool deleted = false;
    std::uint64_t list_seq = 0;  // position in live_order_
  };
  Record* find_live_locked(const std::string& id) const;

  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<Record>> records_;
  std::vector<Record*> ledger_order_;            // first-creation order, never shrinks
  std::map<std::uint64_t, Record*> live_order_;  // creation order of live jobs, for listing
  std::uint64_t next_seq_ = 0;
};

}  // namespace emulator
