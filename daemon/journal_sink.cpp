// Role: the journal's native sink (see journal_sink.hpp).
#include "journal_sink.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <string>

namespace submitd {

bool names_stream(std::string_view journal_stream, dev_t device, ino_t inode) {
  const auto colon = journal_stream.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == journal_stream.size()) return false;
  unsigned long long dev = 0, ino = 0;
  const char* end = journal_stream.data() + journal_stream.size();
  auto d = std::from_chars(journal_stream.data(), journal_stream.data() + colon, dev);
  auto i = std::from_chars(journal_stream.data() + colon + 1, end, ino);
  if (d.ec != std::errc() || d.ptr != journal_stream.data() + colon || i.ec != std::errc() || i.ptr != end) return false;
  return dev == static_cast<unsigned long long>(device) && ino == static_cast<unsigned long long>(inode);
}

bool use_journal_if_stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  struct stat st {};
  if (stream == nullptr || ::fstat(STDERR_FILENO, &st) != 0) return false;
  if (!names_stream(stream, st.st_dev, st.st_ino)) return false;
  log::set_sink(&journal_sink);
  return true;
}

namespace {

// "KEY=value" fields, built in one buffer per line: no allocation per field.
class FieldList {
 public:
  void add(std::string_view key, std::string_view value) {
    if (value.empty() || count_ == kMax) return;
    starts_[count_] = text_.size();
    text_ += key;
    text_ += '=';
    text_ += value;
    ends_[count_++] = text_.size();
  }
  int send() {
    iovec iov[kMax];
    for (std::size_t k = 0; k < count_; ++k) {
      iov[k].iov_base = text_.data() + starts_[k];
      iov[k].iov_len = ends_[k] - starts_[k];
    }
    return sd_journal_sendv(iov, static_cast<int>(count_));
  }

 private:
  static constexpr std::size_t kMax = 10;
  std::string text_;
  std::size_t starts_[kMax]{}, ends_[kMax]{};
  std::size_t count_ = 0;
};

}  // namespace

void journal_sink(log::Level level, std::string_view message, const log::Fields& fields) {
  FieldList f;
  const std::string line = log::one_line(message);  // as the text form: one line, whatever came in
  f.add("MESSAGE", line.empty() ? std::string_view("-") : std::string_view(line));
  const char priority[2] = {static_cast<char>('0' + static_cast<int>(level)), '\0'};
  f.add("PRIORITY", priority);
  f.add("SYSLOG_IDENTIFIER", "bytenite-submitd");
  f.add("MESSAGE_ID", fields.message_id);
  f.add("REQUEST_ID", fields.request_id);
  f.add("JOB_ID", fields.job_id);
  f.add("CLAIM_ID", fields.claim_id);
  f.add("STAGE", fields.stage);
  const std::string status = fields.http_status ? std::to_string(fields.http_status) : std::string();
  f.add("HTTP_STATUS", status);
  if (f.send() < 0) log::text_sink(level, message, fields);
}

}  // namespace submitd
