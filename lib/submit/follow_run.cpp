// Role: job following's Asio side (decisions in follow_book.hpp): the poll loop (one list
// page first, then the rest of the list or one read per followed job, whichever costs fewer
// requests), each ended job's results and final record into the journal, and the placement
// of a held file once all its jobs have ended: its outcome file rewritten with "final" on
// each submitted line (temp, fsync, rename), then moved with its input into done/ or failed/.
// Also abort by requestId. Reads share the pool, token and retry classification; a read that
// fails is simply tried again next round.
#include <simdjson.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <map>

#include "submit/file_work.hpp"
#include "submit/retry_policy.hpp"
#include "util/log.hpp"

namespace submitd::submit {
namespace asio = boost::asio;

namespace {

api::HttpCall read_call(api::Endpoint endpoint, std::string target) {
  api::HttpCall call;
  call.endpoint = endpoint;
  call.method = api::Method::get;
  call.target = std::move(target);
  call.replay_safe = true;
  return call;
}

}  // namespace

void SpoolService::follow(const std::string& job_id, const std::string& claim_id, std::uint64_t line,
                          WallTime give_up_at) {
  follow_book_.add(FollowedJob{job_id, claim_id, line, give_up_at, {}});
  events_.followed_changed(follow_book_.size());
}

void SpoolService::spawn_placement(std::string claim_id) {
  asio::co_spawn(executor_, place_if_all_ended(std::move(claim_id)),
                 [](std::exception_ptr e) { log_escape(e, "placing a followed file"); });
}

void SpoolService::hold_file(spool::ClaimedFile file) {
  std::string claim = file.claim_id;
  held_files_.emplace(claim, std::move(file));
  spawn_placement(std::move(claim));
}

void SpoolService::reload_followed_from_journal() {
  // Jobs that did not fit in the book wait in the journal; take them in as room frees up.
  follow_book_.clear_overflow();
  // The rows already in the book are among the unfinished ones: reading room + size() rows
  // is enough to find `room` new ones, and bounds what a huge backlog of followed jobs costs.
  for (auto& row : journal_.unfinished_followed(follow_book_.room() + follow_book_.size())) {
    if (follow_book_.contains(row.job_id)) continue;
    WallTime give_up = WallTime(std::chrono::milliseconds(row.deadline_ms));
    if (!follow_book_.add(FollowedJob{row.job_id, row.claim_id, row.line, give_up, {}})) break;
  }
  // Filled to the brim: more may wait in the journal (a reload that finds none clears this).
  if (follow_book_.room() == 0) follow_book_.set_overflowed();
  events_.followed_changed(follow_book_.size());
}

asio::awaitable<void> SpoolService::follow_loop() {
  reload_followed_from_journal();  // a restart goes on following where it was
  while (!stopping_) {
    co_await follow_wakeup_.wait(settings_.follow.poll_interval);
    if (stopping_) break;
    if (follow_book_.overflowed() && follow_book_.room() > 0) reload_followed_from_journal();
    if (follow_book_.size() > 0) co_await poll_round();
    for (const auto& id : follow_book_.past_give_up(clock_.wall_now())) {
      auto job = follow_book_.remove(id);
      if (!job) continue;
      log::warn("job {} not ended within its jobTimeout plus follow.give_up_margin_s; no longer followed", id);
      record_end(id, gave_up_json(*job), "gave_up", std::nullopt);
      spawn_placement(job->claim_id);
    }
    // Held files whose jobs all ended but whose placement failed (a full disk): again.
    for (const auto& [claim, file] : held_files_) {
      if (!placing_.count(claim) && follow_book_.followed_in_claim(claim) == 0) {
        spawn_placement(claim);
      }
    }
    events_.followed_changed(follow_book_.size());
  }
}

asio::awaitable<std::optional<api::JobListPage>> SpoolService::read_list_page(std::uint64_t offset) {
  auto reply = co_await api_.send(read_call(
      api::Endpoint::list, fmt::format("{}/jobs?pagination.limit={}&pagination.offset={}",
                                       job_paths_.customer_prefix, settings_.follow.page_size, offset)));
  if (classify(reply) != Verdict::success) co_return std::nullopt;
  co_return api::parse_job_list(reply.http.body);
}

asio::awaitable<void> SpoolService::read_singly(std::vector<std::string> ids, std::vector<api::JobSeen>& ended) {
  // A few readers share the list: bounded concurrency, and the pool's connections reused.
  std::size_t next = 0, running = 0;
  Wakeup done(executor_);
  auto reader = [&]() -> asio::awaitable<void> {
    while (next < ids.size() && !stopping_) {
      const std::string id = ids[next++];
      auto reply = co_await api_.send(read_call(api::Endpoint::get, job_paths_.customer_prefix + "/jobs/" + id));
      if (reply.http.has_response() && reply.http.status == 404) {
        api::JobSeen gone;  // deleted: it will never end by itself
        gone.id = id;
        gone.error_message = "the API no longer knows this job (404)";
        ended.push_back(std::move(gone));
        continue;
      }
      if (classify(reply) != Verdict::success) continue;  // next round
      auto seen = api::parse_job_response(reply.http.body);
      if (!seen) continue;
      if (seen->ended()) ended.push_back(std::move(*seen));
      else follow_book_.saw_state(id, seen->state);
    }
    --running;
    done.notify_all();
  };
  const std::size_t readers = std::max<std::size_t>(1, std::min(settings_.follow.parallel_reads, ids.size()));
  for (std::size_t i = 0; i < readers; ++i) {
    ++running;
    asio::co_spawn(executor_, reader(), [](std::exception_ptr e) { log_escape(e, "job reader"); });
  }
  while (running > 0) co_await done.wait();
}

asio::awaitable<void> SpoolService::poll_round() {
  std::vector<api::JobSeen> ended;
  std::set<std::string> seen_ended;
  auto take_page = [&](const api::JobListPage& page) {
    for (const auto& job : page.jobs) {
      if (!follow_book_.contains(job.id)) continue;
      if (job.ended()) {
        if (seen_ended.insert(job.id).second) ended.push_back(job);
      } else {
        follow_book_.saw_state(job.id, job.state);
      }
    }
  };
  auto first = co_await read_list_page(0);
  // No first page (API trouble): skip this round rather than read every job one by one.
  if (!first) co_return;
  if (list_is_cheaper(follow_book_.size(), first->total, settings_.follow.page_size)) {
    take_page(*first);
    // Jobs created meanwhile may shift a page; a job missed this round is found next round.
    for (std::uint64_t offset = settings_.follow.page_size; offset < first->total && !stopping_;
         offset += settings_.follow.page_size) {
      auto page = co_await read_list_page(offset);
      if (!page) break;
      take_page(*page);
      if (!page->has_next) break;
    }
  } else {
    take_page(*first);
    std::vector<std::string> ids;
    for (auto& id : follow_book_.job_ids()) {
      if (!seen_ended.count(id)) ids.push_back(std::move(id));
    }
    co_await read_singly(std::move(ids), ended);
  }
  for (const auto& job : ended) {
    if (stopping_) break;
    if (follow_book_.contains(job.id)) co_await end_followed(job);
  }
}

void SpoolService::record_end(const std::string& job_id, const std::string& final, std::string_view label,
                              std::optional<double> duration_s) {
  journal_.set_final(job_id, final);
  events_.job_ended(label, duration_s);
}

asio::awaitable<bool> SpoolService::end_followed(const api::JobSeen& job) {
  std::vector<api::JobResult> results;
  if (job.state == "JOB_STATE_COMPLETE") {
    auto reply = co_await api_.send(read_call(api::Endpoint::results,
                                              job_paths_.customer_prefix + "/jobs/" + job.id + "/results"));
    const Verdict verdict = classify(reply);
    if (verdict == Verdict::transient) co_return false;  // next round
    if (verdict == Verdict::success) {
      if (auto parsed = api::parse_job_results(reply.http.body)) results = std::move(*parsed);
    }
  }
  auto followed = follow_book_.remove(job.id);
  if (!followed) co_return true;  // given up or ended meanwhile
  std::optional<double> duration;
  if (job.duration_s) duration = static_cast<double>(*job.duration_s);
  record_end(job.id, final_json(job, results), ended_label(job.state), duration);
  spawn_placement(followed->claim_id);
  co_return true;
}

asio::awaitable<void> SpoolService::place_if_all_ended(std::string claim_id) {
  auto held = held_files_.find(claim_id);
  if (held == held_files_.end() || placing_.count(claim_id)) co_return;
  if (follow_book_.followed_in_claim(claim_id) > 0) co_return;
  placing_.insert(claim_id);
  struct Unmark {
    std::set<std::string>& set;
    std::string id;
    ~Unmark() { set.erase(id); }
  } unmark{placing_, claim_id};
  // The journal decides: jobs of this file may wait there (the book was full), and the ends
  // just recorded must be committed before they are read back.
  co_await journal_.flush();
  std::map<std::uint64_t, std::string> finals;  // by line
  for (auto& row : journal_.followed_of_claim(claim_id)) {
    if (row.final_json.empty()) {
      // Still running: placed when it ends. With following turned off since (a restart),
      // nothing will end it here: the file is placed now with the ends known so far.
      if (settings_.follow.enabled) co_return;
      continue;
    }
    finals.emplace(row.line, std::move(row.final_json));
  }
  held = held_files_.find(claim_id);
  if (held == held_files_.end()) co_return;
  const spool::ClaimedFile file = held->second;
  try {
    spool::FinishedFileWriter writer(paths_, file);
    writer.adopt_held_retry();
    const auto held_outcome = spool::FinishedFileWriter::held_outcome_path(paths_, claim_id);
    std::ifstream in(held_outcome);
    if (!in) throw std::runtime_error("cannot read " + held_outcome.string());
    simdjson::dom::parser parser;
    std::string line;
    // Outcome lines are in input order, one per request; "line" ties them to the journal.
    while (std::getline(in, line)) {
      simdjson::dom::element e;
      std::uint64_t request_line = 0;
      std::string_view status;
      if (!parser.parse(simdjson::padded_string(line)).get(e)) {
        if (e["line"].get(request_line)) request_line = 0;
        if (e["status"].get(status)) status = {};
      }
      auto final = finals.find(request_line);
      std::string out = final != finals.end() && status == "submitted" ? with_final(line, final->second) : line;
      if (status == "failed") writer.note_failure();
      writer.add_outcome(out + "\n");
    }
    auto placed = writer.finish();
    std::error_code ignored;
    std::filesystem::remove(held_outcome, ignored);
    journal_.forget_claim(claim_id);
    held_files_.erase(claim_id);
    log::info("{}: every followed job ended -> {}", file.original_name,
              placed.input.parent_path().filename().string() + "/" + placed.input.filename().string());
  } catch (const std::exception& e) {
    if (!note_write_failure("place a followed file", e)) {
      log::error("cannot place followed file {}: {}; it stays in active/ and is tried again at the next start",
                 file.original_name, e.what());
      held_files_.erase(claim_id);
    }
    // Out of space: it stays held; the next ended job or the next round tries again.
  }
}

asio::awaitable<void> SpoolService::send_abort(std::string job_id) {
  api::HttpCall call;
  call.endpoint = api::Endpoint::abort;
  call.method = api::Method::post;
  call.target = job_paths_.customer_prefix + "/jobs/" + job_id + "/abort";
  call.body = "{}";
  call.replay_safe = true;  // aborting twice is aborting once
  asio::steady_timer pause(executor_);
  for (int attempt = 1; attempt <= 5 && !stopping_; ++attempt) {
    auto reply = co_await api_.send(call);
    const Verdict verdict = classify(reply);
    if (verdict == Verdict::success) {
      log::info("job {}: abort sent", job_id);
      co_return;
    }
    if (verdict == Verdict::final_failure) {
      log::warn("job {}: the API refused the abort: {}", job_id, describe_failure(reply));
      co_return;
    }
    pause.expires_after(std::chrono::seconds(attempt));
    co_await pause.async_wait(asio::use_awaitable);
  }
  log::warn("job {}: the abort could not be sent (API trouble); abort again later", job_id);
}

SpoolService::AbortResult SpoolService::abort(const std::string& request_id) {
  AbortResult out;
  auto found = journal_.lookup(request_id);
  if (!found) return out;  // unknown
  out.job_id = found->job_id;
  if (!found->finished) {
    // Queued or being submitted: it stops before its run; a run already under way is
    // followed by the API's abort.
    abort_requested_.insert(found->job_id);
    sleepers_.notify_all();
    resumed_.notify_all();
    out.kind = AbortResult::Kind::requested;
    out.message = "the request will not be run; if it is being run now, its job is aborted";
    return out;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element record;
  std::string_view status;
  if (parser.parse(simdjson::padded_string(found->outcome_line)).get(record) || record["status"].get(status)) {
    status = {};
  }
  if (status != "submitted") {
    out.kind = AbortResult::Kind::already_ended;
    out.message = "nothing to abort: its submission ended " + std::string(status.empty() ? "unknown" : status);
    return out;
  }
  simdjson::dom::element final;
  if (!record["final"].get(final) && final.is_object()) {
    std::string_view state;
    if (final["state"].get(state)) state = "unknown";
    out.kind = AbortResult::Kind::already_ended;
    out.message = "nothing to abort: its job already ended (" + std::string(state) + ")";
    return out;
  }
  asio::co_spawn(executor_, send_abort(found->job_id), [](std::exception_ptr e) { log_escape(e, "abort"); });
  if (settings_.follow.enabled) {
    out.kind = AbortResult::Kind::requested;
    out.message = "abort sent to the API; the job's final state shows once it has ended";
  } else {
    out.kind = AbortResult::Kind::not_followed;
    out.message = "abort sent to the API; job following is off, so its end is not recorded here";
  }
  return out;
}

}  // namespace submitd::submit
