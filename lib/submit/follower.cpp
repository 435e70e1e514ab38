// Role: job following (see follower.hpp).
#include "submit/follower.hpp"

#include <boost/asio/co_spawn.hpp>
#include <fstream>

#include "spool/finished_file.hpp"
#include "spool/outcome.hpp"
#include "spool/request_identity.hpp"
#include "submit/request_rules.hpp"
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

Follower::Follower(asio::any_io_executor executor, const spool::SpoolPaths& paths, FollowSettings settings,
                   api::ApiClient& api, journal::Journal& journal, StorageWatch& storage, JobPaths job_paths,
                   const Clock& clock, SubmitEvents& events)
    : executor_(executor),
      paths_(paths),
      settings_(settings),
      api_(api),
      journal_(journal),
      storage_(storage),
      job_paths_(std::move(job_paths)),
      clock_(clock),
      events_(events),
      book_(settings.max_followed),
      wakeup_(executor),
      downloads_(executor, settings.downloads, settings.enabled, journal, clock, events) {
  downloads_.on_done([this](const std::string& claim_id) { spawn_placement(claim_id); });
}

void Follower::stop() {
  stopping_ = true;
  downloads_.stop();
  wakeup_.wake_all();
}

void Follower::follow(FollowedJob job) {
  book_.add(std::move(job));
  events_.followed_changed(book_.size());
}

void Follower::report(std::vector<spool::QueuedFile>& out) const {
  for (const auto& [claim, file] : waiting_files_) {
    spool::QueuedFile f = spool::queued_file(file, spool::QueuedFileState::following);
    f.following = book_.followed_in_claim(claim);
    out.push_back(std::move(f));
  }
}

void Follower::spawn_placement(std::string claim_id) {
  if (other_claim_ && other_claim_(claim_id)) return;
  asio::co_spawn(executor_, place_if_all_ended(std::move(claim_id)),
                 [](std::exception_ptr e) { log::escaped(e, "placing a followed file"); });
}

void Follower::hold_file(spool::ClaimedFile file) {
  std::string claim = file.claim_id;
  waiting_files_.emplace(claim, std::move(file));
  spawn_placement(std::move(claim));
}

void Follower::reload_from_journal() {
  // Jobs that did not fit in the book wait in the journal; take them in as room frees up.
  book_.clear_overflow();
  // The rows already in the book are among the unfinished ones: reading room + size() rows
  // is enough to find `room` new ones, and bounds what a huge backlog of followed jobs costs.
  for (auto& row : journal_.unfinished_followed(book_.room() + book_.size())) {
    if (book_.contains(row.job_id)) continue;
    WallTime give_up = WallTime(std::chrono::milliseconds(row.deadline_ms));
    std::string request_id = row.request_id.empty() ? spool::request_key(row.claim_id, row.line) : row.request_id;
    if (!book_.add(FollowedJob{row.job_id, row.claim_id, row.line, give_up, {}, std::move(request_id)})) break;
  }
  // Filled to the brim: more may wait in the journal (a reload that finds none clears this).
  if (book_.room() == 0) book_.set_overflowed();
  events_.followed_changed(book_.size());
}

asio::awaitable<void> Follower::run() {
  if (!settings_.enabled) co_return;
  reload_from_journal();  // a restart goes on following where it was
  asio::co_spawn(executor_, downloads_.resume(), [](std::exception_ptr e) { log::escaped(e, "resuming downloads"); });
  while (!stopping_) {
    co_await wakeup_.wait_for(settings_.poll_interval);
    if (stopping_) break;
    if (book_.overflowed() && book_.room() > 0) reload_from_journal();
    if (book_.size() > 0) co_await poll_round();
    give_up_overdue();
    // Waiting files whose jobs all ended but whose placement failed (a full disk): again.
    for (const auto& [claim, file] : waiting_files_) {
      if (!placing_->count(claim) && book_.followed_in_claim(claim) == 0) spawn_placement(claim);
    }
    events_.followed_changed(book_.size());
  }
}

void Follower::give_up_overdue() {
  for (const auto& id : book_.past_give_up(clock_.wall_now())) {
    auto job = book_.remove(id);
    if (!job) continue;
    log::event_line(log::Level::warning,
                    {.message_id = log::event::job_ended, .job_id = id, .claim_id = job->claim_id},
                    "job {} not ended within its jobTimeout plus follow.give_up_margin_s; no longer followed", id);
    record_end(id, spool::gave_up_json(job->last_state), "gave_up", std::nullopt);
    spawn_placement(job->claim_id);
  }
}

asio::awaitable<std::optional<api::JobListPage>> Follower::read_list_page(std::uint64_t offset) {
  auto reply = co_await api_.send(read_call(
      api::Endpoint::list, fmt::format("{}/jobs?pagination.limit={}&pagination.offset={}", job_paths_.customer_prefix,
                                       settings_.page_size, offset)));
  if (classify(reply) != Verdict::success) co_return std::nullopt;
  co_return api::parse_job_list(reply.http.body);
}

asio::awaitable<void> Follower::read_singly(std::vector<std::string> ids, std::vector<api::JobSeen>& ended) {
  // A few readers share the list: bounded concurrency, and the pool's connections reused.
  std::size_t next = 0, running = 0;
  WaitLine done(executor_);
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
      else book_.saw_state(id, seen->state);
    }
    --running;
    done.wake_all();
  };
  const std::size_t readers = std::max<std::size_t>(1, std::min(settings_.parallel_reads, ids.size()));
  for (std::size_t i = 0; i < readers; ++i) {
    ++running;
    asio::co_spawn(executor_, reader(), [](std::exception_ptr e) { log::escaped(e, "job reader"); });
  }
  while (running > 0) co_await done.wait();
}

asio::awaitable<void> Follower::poll_round() {
  std::vector<api::JobSeen> ended;
  std::set<std::string> seen_ended;
  auto take_page = [&](const api::JobListPage& page) {
    for (const auto& job : page.jobs) {
      if (!book_.contains(job.id)) continue;
      if (!job.ended()) {
        book_.saw_state(job.id, job.state);
      } else if (seen_ended.insert(job.id).second) {
        ended.push_back(job);
      }
    }
  };
  auto first = co_await read_list_page(0);
  // No first page (API trouble): skip this round rather than read every job one by one.
  if (!first) co_return;
  take_page(*first);
  if (list_is_cheaper(book_.size(), first->total, settings_.page_size)) {
    // Jobs created meanwhile may shift a page; a job missed this round is found next round.
    for (std::uint64_t offset = settings_.page_size; offset < first->total && !stopping_;
         offset += settings_.page_size) {
      auto page = co_await read_list_page(offset);
      if (!page) break;
      take_page(*page);
      if (!page->has_next) break;
    }
  } else {
    std::vector<std::string> ids;
    for (auto& id : book_.job_ids()) {
      if (!seen_ended.count(id)) ids.push_back(std::move(id));
    }
    co_await read_singly(std::move(ids), ended);
  }
  for (const auto& job : ended) {
    if (stopping_) break;
    if (book_.contains(job.id)) co_await end_followed(job);
  }
}

void Follower::record_end(const std::string& job_id, const std::string& final, std::string_view label,
                          std::optional<double> duration_s, bool downloading) {
  journal_.set_final(job_id, final, downloading);
  events_.job_ended(label, duration_s);
}

asio::awaitable<bool> Follower::end_followed(const api::JobSeen& job) {
  std::vector<api::JobResult> results;
  if (job.state == "JOB_STATE_COMPLETE") {
    auto reply = co_await api_.send(
        read_call(api::Endpoint::results, job_paths_.customer_prefix + "/jobs/" + job.id + "/results"));
    const Verdict verdict = classify(reply);
    if (verdict == Verdict::transient) co_return false;  // next round
    if (verdict == Verdict::success) {
      if (auto parsed = api::parse_job_results(reply.http.body)) results = std::move(*parsed);
    }
  }
  auto followed = book_.remove(job.id);
  if (!followed) co_return true;  // given up or ended meanwhile
  std::optional<double> duration;
  if (job.duration_s) duration = static_cast<double>(*job.duration_s);
  spool::JobEnd end = job_end(job, results);
  const bool downloading = downloads_.enabled() && has_downloads(end);
  record_end(job.id, spool::final_json(end), ended_label(job.state), duration, downloading);
  // With results to download, the downloader places the file once they are on disk.
  if (downloading) downloads_.start(DownloadJob{job.id, followed->claim_id, followed->request_id, std::move(end)});
  else spawn_placement(followed->claim_id);
  co_return true;
}

asio::awaitable<void> Follower::place_if_all_ended(std::string claim_id) {
  if (!waiting_files_.count(claim_id) || placing_->count(claim_id)) co_return;
  if (book_.followed_in_claim(claim_id) > 0) co_return;
  placing_->insert(claim_id);
  struct Unmark {
    std::shared_ptr<std::set<std::string>> set;  // not the Follower's member: it may be gone (see placing_)
    std::string id;
    ~Unmark() { set->erase(id); }
  } unmark{placing_, claim_id};
  // The journal decides: jobs of this file may wait there (the book was full), and the ends
  // just recorded must be committed before they are read back.
  co_await journal_.flush();
  auto ends = ends_if_all_ended(journal_.followed_of_claim(claim_id), settings_.enabled);
  if (!ends) co_return;  // still running: placed when it ends
  auto waiting = waiting_files_.find(claim_id);
  if (waiting == waiting_files_.end()) co_return;
  const spool::ClaimedFile file = waiting->second;
  try {
    place(file, *ends);
    waiting_files_.erase(claim_id);
  } catch (const std::exception& e) {
    if (!storage_.note_write_failure("place a followed file", e)) {
      log::error("cannot place followed file {}: {}; it stays in active/ and is tried again at the next start",
                 file.original_name, e.what());
      waiting_files_.erase(claim_id);
    }
    // Out of space: it stays waiting; the next ended job or the next round tries again.
  }
}

void Follower::place(const spool::ClaimedFile& file, const std::map<std::uint64_t, std::string>& ends) {
  spool::FinishedFileWriter writer(paths_, file);
  writer.adopt_held_retry();
  const auto held_outcome = spool::FinishedFileWriter::held_outcome_path(paths_, file.claim_id);
  std::ifstream in(held_outcome);
  if (!in) throw std::runtime_error("cannot read " + held_outcome.string());
  std::string line;
  // Outcome lines are in input order, one per request; "line" ties them to the journal.
  while (std::getline(in, line)) {
    const spool::ParsedOutcome outcome = spool::parse_outcome_line(line);
    auto end = ends.find(outcome.line);
    const bool submitted = outcome.status == "submitted";
    std::string out = end != ends.end() && submitted ? spool::with_final(line, end->second) : line;
    if (outcome.status == "failed") writer.note_failure();
    writer.add_outcome(out + "\n");
  }
  auto placed = writer.finish();
  std::error_code ignored;
  std::filesystem::remove(held_outcome, ignored);
  journal_.forget_claim(file.claim_id);
  log::event_line(log::Level::info, {.message_id = log::event::file_placed, .claim_id = file.claim_id},
                  "{}: every followed job ended -> {}", file.original_name,
                  placed.input.parent_path().filename().string() + "/" + placed.input.filename().string());
}

}  // namespace submitd::submit
