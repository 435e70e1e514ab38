// Role: the scheduler's aborts (see scheduler.hpp): stopping an unfinished request before
// its run, and the API's abort of a job, sent on its own, paced and retried like any call.
#include <boost/asio/co_spawn.hpp>

#include "submit/retry_policy.hpp"
#include "submit/scheduler.hpp"
#include "util/log.hpp"

namespace submitd::submit {
namespace asio = boost::asio;

void Scheduler::abort_before_run(const std::string& job_id) {
  abort_requested_.insert(job_id);
  sleepers_.wake_all();
  unpaced_.wake_all();
  resumed_.wake_all();
}

void Scheduler::send_abort(std::string job_id) {
  asio::co_spawn(executor_, abort_job(std::move(job_id)), [](std::exception_ptr e) { log::escaped(e, "abort"); });
}

asio::awaitable<void> Scheduler::abort_job(std::string job_id) {
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  AbortCall abort(std::move(job_id), job_paths_, settings_.submission.timing);
  bool retry = false;
  bool charged = false;
  while (!stopping_) {
    // Paced like every call (an abort is not a run: the cost cap does not apply).
    auto admission = charged ? pacer_.readmit(clock_.now()) : pacer_.admit(retry, false, clock_.now());
    if (admission.wait.count() > 0) co_await line_for(admission).wait_for(admission.wait);
    if (!admission.granted) continue;
    charged = pacer_.outdated(admission);
    if (charged) continue;
    if (stopping_) break;
    const MonoTime sent_at = clock_.now();
    pacer_.sent(sent_at);
    auto reply = co_await api_.send(abort.call());
    account_answered(reply, sent_at, jitter(rng_));
    auto step = abort.on_reply(reply, clock_.wall_now(), jitter(rng_));
    if (!step.again) {
      if (abort.result() == AbortCall::Result::sent) {
        log::event_line(log::Level::info, {.message_id = log::event::job_abort, .job_id = abort.job_id()},
                        "job {}: abort sent", abort.job_id());
      } else if (abort.result() == AbortCall::Result::refused) {
        log::event_line(log::Level::warning,
                        {.message_id = log::event::job_abort, .job_id = abort.job_id(), .http_status = reply.http.status},
                        "job {}: the API refused the abort: {}", abort.job_id(), describe_failure(reply));
      } else {
        log::event_line(log::Level::warning, {.message_id = log::event::job_abort, .job_id = abort.job_id()},
                        "job {}: the abort could not be sent (API trouble); abort again later", abort.job_id());
      }
      co_return;
    }
    retry = true;
    co_await sleepers_.wait_for(step.delay);
  }
}

}  // namespace submitd::submit
