// Role: the submission engine: builds the middle parts and connects them, one each of the
// storage watch, the scheduler, the file runners (the intake), the follower and the two
// sources (spool directory, control socket). At start it resumes what an interrupted run
// left in active/ (same claim ids, so the same jobIds; the journal says how far each request
// got), then lets the sources hand over work until stop(). The parts do the work; this only
// wires, starts and stops them, and answers the questions that span parts (abort).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <string>

#include "api/api_client.hpp"
#include "journal/journal.hpp"
#include "spool/spool_paths.hpp"
#include "submit/abort_call.hpp"
#include "submit/file_runner.hpp"
#include "submit/follower.hpp"
#include "submit/posted_source.hpp"
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

  Scheduler& scheduler() { return scheduler_; }
  const Scheduler& scheduler() const { return scheduler_; }
  const FileRunners& files() const { return files_; }
  const Follower& follower() const { return follower_; }
  const SpoolSource& spool() const { return spool_; }
  PostedSource& posts() { return posts_; }
  const StorageWatch& storage() const { return storage_; }

 private:
  void resume_interrupted();

  boost::asio::any_io_executor executor_;
  const spool::SpoolPaths& paths_;
  journal::Journal& journal_;
  WaitLine work_changed_;  // a file or request finished, files arrived, or space is back
  StorageWatch storage_;
  Scheduler scheduler_;
  Follower follower_;
  FileRunners files_;
  SpoolSource spool_;
  PostedSource posts_;
};

}  // namespace submitd::submit
