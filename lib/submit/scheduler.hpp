// Role: the scheduler drives accepted requests through the API: it keeps the count of
// accepted, unfinished requests (memory's bound), the in-flight places (API work at once),
// pacing (rate limit, retry budget, cost cap), pause, and the set of requests to abort. For
// one request it journals the acceptance (durable before any call), runs its JobSubmission
// call by call, journals the end and reports it. It knows no files: a source's runner hands
// it a ticket of values and gets the end back through a callback.
// The in-flight limit is where an adaptive concurrency limit plugs in (inflight_places_).
// Single-threaded: everything runs on one executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <set>

#include "api/api_client.hpp"
#include "api/storage_client.hpp"
#include "journal/journal.hpp"
#include "spool/outcome.hpp"
#include "spool/request_parser.hpp"
#include "submit/abort_call.hpp"
#include "submit/fifo_semaphore.hpp"
#include "submit/file_controls.hpp"
#include "submit/follow_book.hpp"
#include "submit/follow_settings.hpp"
#include "submit/job_submission.hpp"
#include "submit/live_requests.hpp"
#include "submit/pacing.hpp"
#include "submit/submit_events.hpp"
#include "util/wait_line.hpp"
#include "util/clock.hpp"
#include "util/log_limiter.hpp"

namespace submitd::submit {

struct SchedulerSettings {
  std::size_t max_inflight = 256;  // requests at some API step at once
  // Requests accepted and not finished, counting those waiting to retry (which give their
  // in-flight place to others meanwhile). Bounds memory; 0 means 4 x max_inflight.
  std::size_t max_accepted = 0;
  SubmissionOptions submission;
  double rate_limit_per_second = 0;  // API calls per second over all requests; 0 = no limit
  bool adaptive = true;              // find the account's rate (rate_limit_per_second caps it)
  double max_jobs_per_minute = 0;    // runs sent per minute at most; 0: no cap
  RetryBudgetSettings retry_budget;
  std::filesystem::path pause_marker;  // <state>/paused: a pause survives a restart
  FollowSettings follow;               // enabled: submitted jobs are handed to `followed`
  spool::InputFileRules input_rules;   // an upload opens its inputFile again by these (upload.*)
  std::size_t max_uploads = 4;         // uploads at once (upload.max_concurrent)
};

// One accepted request, as values: nothing in it refers back to where it came from.
struct Ticket {
  std::shared_ptr<const spool::JobRequest> request;
  std::string claim_id;       // the request is "<claim id>:<line>" (spool/request_identity.hpp)
  bool request_id_given = false;
  bool recovered = false;     // its input was found in active/ at start: calls may have gone out
  // A message delivered before, perhaps to another daemon of the fleet: calls may have gone
  // out that this journal never saw, so the job is read first unless the journal knows more.
  bool delivered_before = false;
  MonoTime accepted_mono;
  spool::OutcomeRecord record;  // line, requestId, jobId, acceptance time and warnings
};

// How a request ended.
struct RequestEnd {
  bool completed = false;       // false: interrupted by stop(); resumed at the next start
  spool::OutcomeRecord record;  // with status, attempts, error and finish time
  std::string outcome_line;     // the journaled outcome line, when there is one
};

class Scheduler {
 public:
  using OnSubmitted = std::function<void(FollowedJob)>;

  // `controls`: files held or cancelled by the operator (see file_controls.hpp).
  Scheduler(boost::asio::any_io_executor executor, SchedulerSettings settings, api::ApiClient& api,
            journal::Journal& journal, JobPaths job_paths, const FileControls& controls, const Clock& clock,
            SubmitEvents& events);

  // Whether another request may be accepted now (memory's bound). Requests parked by their
  // file's hold do not count: a held file must not stop the others. (What they hold is
  // bounded by each file's reorder window, and a held file reads no further.)
  bool has_room() const { return accepted_ - held_parked_ < max_accepted_; }
  // Called when room was made other than by a request's end (a request parked by a hold).
  void on_room(std::function<void()> room_made) { room_made_ = std::move(room_made); }
  // Accepts a request and runs it on its own; `on_end(RequestEnd)` is called on the executor
  // when it ends. (A template: the callback goes into the coroutine's completion handler as
  // is, with no allocation of its own per request.)
  template <typename OnEnd>
  void submit(Ticket ticket, OnEnd on_end) {
    accepted_changed(+1);
    boost::asio::co_spawn(executor_, run(std::move(ticket)),
                          [this, on_end = std::move(on_end)](std::exception_ptr e, RequestEnd end) mutable {
                            if (e) log_escaped(e);
                            accepted_changed(-1);
                            on_end(std::move(end));
                          });
  }
  // Job following: where submitted jobs go (set once, before work starts).
  void on_submitted(OnSubmitted followed) { followed_ = std::move(followed); }

  // Interrupts waiting requests and closes the in-flight places; accepted work ends interrupted.
  void stop();
  // Pause: nothing is sent to the API until resume (intake goes on). Kept in the pause marker,
  // so it survives a restart. Throws std::system_error when the marker cannot be stored.
  void set_paused(bool paused);
  bool paused() const { return paused_; }
  // Reads the pause marker at start.
  void load_pause();
  // Wakes every request waiting to retry so it tries again now (e.g. after a new API key).
  void retry_waiting_now() { sleepers_.wake_all(); }
  // A file's hold or cancel changed: its parked requests look again. After a cancel, requests
  // waiting to retry are woken too, so the file's end now, not at their next try (the others
  // try again at once, paced and within the retry budget, as after an abort).
  void file_controls_changed(bool cancelled) {
    resumed_.wake_all();
    if (cancelled) sleepers_.wake_all();
  }
  // Where each accepted request is now (queue inspection).
  const LiveRequests& live() const { return live_; }
  // SIGHUP: new rate limit and retry budget (they start afresh) and retry timing (for
  // requests from now on).
  void apply_live_settings(double rate_limit_per_second, RetryBudgetSettings budget, RetryTiming timing);
  // The cost cap this daemon applies now (a fleet's share of submit.max_jobs_per_minute,
  // per minute; > 0). Runs booked so far keep their times.
  void set_jobs_per_minute(double per_minute) { pacer_.set_job_start_rate(per_minute / 60.0, clock_.now()); }
  // An unfinished request is stopped before its run (or its job aborted right after it).
  void abort_before_run(const std::string& job_id);
  // Sends the API's abort for a job, on its own, paced and retried like any call.
  void send_abort(std::string job_id);

  std::size_t accepted() const { return accepted_; }
  // Where inputs are uploaded (the storage hosts); without it an upload fails its request.
  void set_storage(api::Storage& storage) { storage_ = &storage; }

  // The account rate as found so far (for /v1/status).
  const AdaptiveRate& account_rate() const { return pacer_.account(); }

 private:
  void accepted_changed(int by);
  static void log_escaped(std::exception_ptr e);
  // An answer's news for the account rate (a 429, a Retry-After, a slow answer), and the
  // metrics when the rate moved.
  void account_answered(const api::ApiReply& reply, MonoTime sent_at, double jitter);
  void report_account_rate();
  boost::asio::awaitable<RequestEnd> run(Ticket ticket);
  // Runs the submission to its end; false when interrupted by stop(). `holding_place` says
  // whether the request holds an in-flight place when it returns.
  boost::asio::awaitable<bool> drive(JobSubmission& submission, const Ticket& ticket, LiveRequest& live,
                                     bool& holding_place);
  // The upload stage (scheduler_upload.cpp): the input streamed to its tempUrl outside the
  // in-flight places, under one of the upload places; false when stopped.
  boost::asio::awaitable<bool> upload(JobSubmission& submission, const Ticket& ticket, LiveRequest& live,
                                      bool& holding_place);
  // The PUT itself: the file opened again (unchanged since validation) and sent; a request
  // whose input cannot be sent is failed here.
  boost::asio::awaitable<api::ApiReply> put_input(const api::HttpCall& call, const spool::JobRequest& request,
                                                  JobSubmission& submission);
  // Waits while the daemon is paused or the request's file held; false when stopped.
  boost::asio::awaitable<bool> wait_while_parked(const JobSubmission& submission, const Ticket& ticket,
                                                 LiveRequest& live, bool& holding_place);
  // Ends the submission before its run when it was aborted or its file cancelled; true when
  // it ended.
  bool stopped_before_run(JobSubmission& submission, const Ticket& ticket);
  // Gives the in-flight place up while waiting on `wakeup`, then queues for one again.
  boost::asio::awaitable<bool> wait_outside(WaitLine& wakeup, std::chrono::nanoseconds delay, bool& holding_place,
                                            LiveRequest& live);
  // Where a call paced by `admission` waits: a permit's holder for its time, one refused a
  // permit until the rate rises or its wait is over.
  WaitLine& line_for(const CallPacer::Admission& admission) { return admission.granted ? sleepers_ : unpaced_; }
  // Debug: one line per API answer, with the request's fields (traces a request end to end).
  void trace_answer(const JobSubmission& submission, const Ticket& ticket, api::Endpoint endpoint,
                    const api::ApiReply& reply);
  void log_deferral(const JobSubmission& submission, const Ticket& ticket, const api::HttpCall& call,
                    const api::ApiReply& reply, std::chrono::milliseconds delay);
  // The end into the journal (with the requestId's fate and the follow deadline).
  void journal_end(const Ticket& ticket, RequestEnd& end);
  boost::asio::awaitable<void> abort_job(std::string job_id);

  boost::asio::any_io_executor executor_;
  SchedulerSettings settings_;
  api::ApiClient& api_;
  journal::Journal& journal_;
  JobPaths job_paths_;
  const Clock& clock_;
  const FileControls& controls_;
  SubmitEvents& events_;
  OnSubmitted followed_;
  std::function<void()> room_made_;
  // Before the lines below: destroyed after them, so the entries of requests they destroy
  // unresumed are unlinked from a live list.
  LiveRequests live_;
  std::size_t held_parked_ = 0;  // requests waiting for their file's release
  std::mt19937_64 rng_;
  bool stopping_ = false;
  bool paused_ = false;
  std::size_t accepted_ = 0;  // accepted and not finished (in flight or waiting)
  std::size_t max_accepted_;
  FifoSemaphore inflight_places_;  // requests making API calls now
  FifoSemaphore upload_places_;    // requests uploading their input now
  api::Storage* storage_ = nullptr;
  std::size_t uploads_in_flight_ = 0;
  CallPacer pacer_;
  double reported_rate_ = -1;  // last rate given to events_
  WaitLine sleepers_;  // requests waiting to retry: woken at stop, or when their trouble may be fixed
  WaitLine unpaced_;   // calls refused a permit (the rate booked ahead): woken when the rate rises
  WaitLine resumed_;   // requests held by a pause
  std::set<std::string> abort_requested_;  // jobIds whose submission must stop
  // Repeated trouble is logged once per interval, with a count of what was left out.
  log::Limiter deferral_log_{std::chrono::seconds(10)};
  // Per-request failure and duplicate lines: a burst per interval, then counted.
  log::Limiter failure_log_{std::chrono::seconds(10), 20};
  log::Limiter duplicate_log_{std::chrono::seconds(10), 20};
};

}  // namespace submitd::submit
