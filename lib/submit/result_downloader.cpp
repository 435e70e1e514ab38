// Role: result downloads (see result_downloader.hpp).
#include "submit/result_downloader.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "spool/request_identity.hpp"
#include "util/log.hpp"

namespace submitd::submit {
namespace asio = boost::asio;

namespace {

// Jobs downloading at once; the others wait in the journal, so memory stays bounded however
// many complete while the downloads are slow.
constexpr std::size_t kJobsAtOnce = 1000;

// A 2xx body into the result's temp file, within results.max_bytes and the shared bandwidth.
class FileSink final : public api::BodySink {
 public:
  FileSink(spool::ResultFile& file, Bandwidth& bandwidth, const Clock& clock, std::uint64_t max_bytes)
      : file_(file), bandwidth_(bandwidth), clock_(clock), max_bytes_(max_bytes) {}

  void begin(std::optional<std::uint64_t> content_length) override {
    content_length_ = content_length;
    too_large_ = false;
    if (!file_.restart()) trouble_ = file_.trouble();
    else trouble_.clear();
  }
  bool take(std::string_view bytes) override {
    if (!trouble_.empty()) return false;
    if (file_.written() + bytes.size() > max_bytes_ || (content_length_ && *content_length_ > max_bytes_)) {
      too_large_ = true;
      trouble_ = fmt::format("not downloaded: the result is larger than results.max_bytes ({} bytes)", max_bytes_);
      return false;
    }
    if (file_.write(bytes)) return true;
    trouble_ = file_.trouble();
    return false;
  }
  std::chrono::nanoseconds pause_before_read(std::size_t bytes) override {
    return bandwidth_.before_read(bytes, clock_.now());
  }
  const std::string& trouble() const override { return trouble_; }
  bool too_large() const { return too_large_; }
  std::optional<std::uint64_t> content_length() const { return content_length_; }

 private:
  spool::ResultFile& file_;
  Bandwidth& bandwidth_;
  const Clock& clock_;
  std::uint64_t max_bytes_;
  std::optional<std::uint64_t> content_length_;
  bool too_large_ = false;
  std::string trouble_;
};

}  // namespace

ResultDownloader::ResultDownloader(asio::any_io_executor executor, DownloadSettings settings, bool following,
                                   journal::Journal& journal, const Clock& clock, SubmitEvents& events)
    : executor_(executor),
      settings_(std::move(settings)),
      enabled_(following && settings_.download_dir.has_value()),
      journal_(journal),
      clock_(clock),
      events_(events),
      capacity_(kJobsAtOnce),
      places_(executor, std::max<std::size_t>(1, settings_.max_concurrent)),
      bandwidth_(settings_.max_bytes_per_second),
      pauses_(executor),
      job_ended_(executor) {
  if (enabled_) disk_.emplace(1);
}

ResultDownloader::~ResultDownloader() {
  if (disk_) disk_->join();
}

void ResultDownloader::stop() {
  stopping_ = true;
  places_.close();
  pauses_.wake_all();
}

void ResultDownloader::start(DownloadJob job) {
  if (stopping_) return;  // the journal keeps it: the next start resumes it
  if (active_.size() >= capacity_) {
    overflowed_ = true;  // it waits in the journal; taken in when room frees up
    return;
  }
  if (!active_.insert(job.job_id).second) return;
  asio::co_spawn(executor_, download_job(std::move(job)),
                 [](std::exception_ptr e) { log::escaped(e, "downloading results"); });
}

DownloadJob ResultDownloader::job_of(const journal::FollowedRow& row, spool::JobEnd end) const {
  std::string request_id = row.request_id.empty() ? spool::request_key(row.claim_id, row.line) : row.request_id;
  return DownloadJob{row.job_id, row.claim_id, std::move(request_id), std::move(end)};
}

asio::awaitable<void> ResultDownloader::resume() { co_await reload(); }

asio::awaitable<void> ResultDownloader::reload() {
  overflowed_ = false;
  co_await journal_.flush();  // ends just recorded (and downloads just finished) are read as they are
  for (const auto& row : journal_.pending_downloads(capacity_ + active_.size())) {
    if (stopping_) co_return;
    if (active_.count(row.job_id)) continue;
    auto end = spool::parse_final(row.final_json);
    if (end && enabled_) {
      if (active_.size() >= capacity_) {
        overflowed_ = true;
        break;
      }
      start(job_of(row, std::move(*end)));
      continue;
    }
    // Downloads were turned off since (or the record is damaged): the end is final as it is.
    std::string final = row.final_json;
    if (end) {
      for (auto& result : end->results) {
        if (result.local_path.empty() && result.download_error.empty()) {
          result.download_error = "not downloaded: results.download_dir is no longer set";
        }
      }
      final = spool::final_json(*end);
    }
    journal_.finish_downloads(row.job_id, final);
    if (done_) done_(row.claim_id);
  }
}

asio::awaitable<void> ResultDownloader::download_job(DownloadJob job) {
  const auto planned = plan_downloads(job.request_id, job.job_id, job.end);
  std::size_t running = planned.size();
  bool interrupted = false;
  for (const auto& item : planned) {
    asio::co_spawn(
        executor_,
        [&, item]() -> asio::awaitable<void> {
          if (!co_await fetch(job, item, job.end.results[item.index])) interrupted = true;
          if (--running == 0) job_ended_.wake_all();
        },
        [](std::exception_ptr e) { log::escaped(e, "downloading a result"); });
  }
  // Waits in a line the downloader owns, not one in this frame: a frame waiting in a line of
  // its own would keep itself alive (a leak) when the daemon stops mid-download, while the
  // downloader's line, destroyed with it, takes its waiters along.
  while (running > 0) co_await job_ended_.wait();
  active_.erase(job.job_id);
  if (interrupted || stopping_) co_return;  // the journal still says downloading: a restart resumes it
  journal_.finish_downloads(job.job_id, spool::final_json(job.end));
  if (done_) done_(job.claim_id);
  if (overflowed_) co_await reload();
}

asio::awaitable<bool> ResultDownloader::fetch(const DownloadJob& job, const PlannedDownload& planned,
                                              spool::ResultLink& result) {
  auto url = api::parse_storage_url(result.link);
  if (auto* why = std::get_if<std::string>(&url)) {
    result.download_error = "not downloaded: its link " + *why;
    co_return true;
  }
  if (storage_ == nullptr) {
    result.download_error = "not downloaded: downloads are not set up in this daemon";
    co_return true;
  }
  if (!co_await places_.acquire()) co_return false;
  auto created = spool::ResultFile::create(*settings_.download_dir, planned.relative, planned.temp_name);
  if (auto* why = std::get_if<std::string>(&created)) {
    places_.release();
    result.download_error = "not downloaded: " + *why;
    co_return true;
  }
  auto& file = *std::get<std::unique_ptr<spool::ResultFile>>(created);
  const MonoTime first = clock_.now();
  for (int n = 1;; ++n) {
    const MonoTime started = clock_.now();
    const AttemptVerdict verdict = co_await attempt(std::get<api::StorageUrl>(url), file);
    const bool done = verdict.kind == AttemptVerdict::Kind::done;
    const bool last = !done && gives_up(verdict, clock_.now() - first, settings_.give_up_after);
    events_.download_attempted(done ? "ok" : (last ? "failed" : "retried"), done ? file.written() : 0,
                               std::chrono::duration<double>(clock_.now() - started).count());
    if (done) {
      const bool committed = co_await commit(file);
      places_.release();
      if (committed) {
        result.local_path = file.final_path().string();
        result.bytes = file.written();
      } else {
        result.download_error = "not downloaded: " + file.trouble();
      }
      co_return true;
    }
    places_.release();
    if (stopping_) co_return false;
    if (last) {
      result.download_error = verdict.kind == AttemptVerdict::Kind::fail
                                  ? verdict.reason
                                  : fmt::format("not downloaded after {} attempts over {} s: {}", n,
                                                std::chrono::duration_cast<std::chrono::seconds>(clock_.now() - first).count(),
                                                verdict.reason);
      log::warn("result {} of job {} (request {}) not downloaded: {}", planned.index, job.job_id, job.request_id,
                result.download_error);
      co_return true;
    }
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    co_await pauses_.wait_for(download_backoff(n + 1, jitter(rng_)));
    if (stopping_ || !co_await places_.acquire()) co_return false;
  }
}

asio::awaitable<AttemptVerdict> ResultDownloader::attempt(const api::StorageUrl& url, spool::ResultFile& file) {
  FileSink sink(file, bandwidth_, clock_, settings_.max_bytes);
  api::HttpCall call;
  call.endpoint = api::Endpoint::download;
  call.method = api::Method::get;
  call.target = url.target;
  call.replay_safe = true;
  call.sink = &sink;
  events_.downloads_changed(++in_flight_);
  const api::HttpResult result = co_await storage_->send(url, call);
  events_.downloads_changed(--in_flight_);
  co_return judge_attempt(Attempt{&result, sink.trouble(), sink.too_large(), sink.content_length(), file.written()});
}

asio::awaitable<bool> ResultDownloader::commit(spool::ResultFile& file) {
  // fsync of a large file can take a while: on the disk thread, the I/O thread goes on.
  bool committed = false;
  co_await asio::co_spawn(
      disk_->get_executor(),
      [&]() -> asio::awaitable<void> {
        committed = file.commit();
        co_return;
      },
      asio::use_awaitable);
  co_return committed;
}

}  // namespace submitd::submit
