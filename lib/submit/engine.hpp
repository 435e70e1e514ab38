// Role: the submission engine: builds the middle parts and connects them, one each of the
// storage watch, the scheduler, the file runners (the intake), the follower and the sources
// (spool directory, control socket, and a JetStream stream when configured). At start it resumes what an interrupted run
// left in active/ (same claim ids, so the same jobIds; the journal says how far each request
// got), then lets the sources hand over work until stop(). The parts do the work; this only
// wires, starts and stops them, and answers the questions that span parts (abort).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <map>
#include <string>

#include "api/api_client.hpp"
#include "journal/journal.hpp"
#include "spool/queue_report.hpp"
#include "spool/spool_paths.hpp"
#include "submit/abort_call.hpp"
#include "submit/file_controls.hpp"
#include "submit/file_runner.hpp"
#include "submit/follower.hpp"
#include "submit/jetstream_source.hpp"
#include "submit/posted_source.hpp"
#include "submit/queue_control.hpp"
#include "submit/scheduler.hpp"
#include "submit/spool_source.hpp"
#include "submit/storage_watch.hpp"
#include "util/uuid.hpp"

namespace submitd::submit {

struct EngineSettings {
  SchedulerSettings scheduler;
  FileRunnerSettings files;
  SpoolSourceSettings spool;
  StorageSettings storage;
  FollowSettings follow;  // copied into the scheduler's and the file runners' settings
  std::filesystem::path file_controls;  // <state>/file-controls: holds and cancels survive a restart
  std::optional<JetStreamSourceSettings> jetstream;  // [intake.jetstream], when configured
};

class Engine {
 public:
  Engine(boost::asio::any_io_executor executor, const spool::SpoolPaths& paths, EngineSettings settings,
         api::ApiClient& api, journal::Journal& journal, JobPaths job_paths, Uuid job_namespace,
         const Clock& clock, SubmitEvents& events);

  // Runs until stop() and then until the files being worked have settled (or been interrupted).
  boost::asio::awaitable<void> run();
  // Stop taking work; interrupt waiting retries. Files not finished stay in active/.
  void stop();
  // Abort by requestId (POST /v1/jobs/{id}/abort); never waits.
  AbortResult abort(const std::string& request_id);

  // Queue inspection and control (engine_queue.cpp). Each never waits on the API.
  // Every file in incoming/ (at most `incoming_limit`) and active/, with its requests.
  spool::QueueReport queue(std::size_t incoming_limit) const;
  // FILE|CLAIM: a claim id, a name as dropped, or a path ending in one (see queue_control.hpp).
  spool::FileActionResult hold(const std::string& key);
  spool::FileActionResult release(const std::string& key);
  spool::FileActionResult cancel(const std::string& key, bool abort_running);
  // failed/NAME.retry.jsonl back into incoming/ under its own name.
  spool::FileActionResult requeue(const std::string& path);
  bool held(const std::string& claim_id) const { return controls_.held(claim_id); }
  // Wakes every request waiting to retry; returns how many were waiting.
  std::size_t retry_now();

  // The storage hosts: inputs are uploaded to them and results downloaded from them.
  void set_storage(api::Storage& storage) {
    scheduler_.set_storage(storage);
    follower_.set_storage(storage);
  }
  Scheduler& scheduler() { return scheduler_; }
  const Scheduler& scheduler() const { return scheduler_; }
  const FileRunners& files() const { return files_; }
  const Follower& follower() const { return follower_; }
  const SpoolSource& spool() const { return spool_; }
  PostedSource& posts() { return posts_; }
  // The JetStream intake; nullptr when not configured.
  const JetStreamSource* jetstream() const { return jetstream_.get(); }
  const StorageWatch& storage() const { return storage_; }

 private:
  void resume_interrupted();
  // The files in active/ (worked, held unstarted, or followed), for queue() and key lookups.
  void active_files(std::vector<spool::QueuedFile>& out) const;
  spool::FileActionResult act_on_file(FileVerb verb, const std::string& key, bool abort_running);
  // Claims incoming/<name> for an action; nullopt with `result` saying why when it cannot.
  std::optional<spool::ClaimedFile> claim_for_action(const std::string& name, spool::FileActionResult& result);
  // Carries out a decided hold, release or cancel of a claimed file.
  void apply(FileVerb verb, const std::string& claim_id, bool abort_running);
  // Aborts the started jobs of a cancelled file (those that end later are aborted as they end).
  boost::asio::awaitable<void> abort_started_jobs(std::string claim_id);

  boost::asio::any_io_executor executor_;
  const spool::SpoolPaths& paths_;
  journal::Journal& journal_;
  FileControls controls_;  // before the parts that read it
  std::map<std::string, spool::ClaimedFile> parked_;  // held files not started: by claim id
  WaitLine work_changed_;  // a file or request finished, files arrived, or space is back
  StorageWatch storage_;
  Scheduler scheduler_;
  Follower follower_;
  FileRunners files_;
  SpoolSource spool_;
  PostedSource posts_;
  std::unique_ptr<JetStreamSource> jetstream_;
  bool jetstream_ended_ = false;
};

}  // namespace submitd::submit
