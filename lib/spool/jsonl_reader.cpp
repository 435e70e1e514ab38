// Role: the chunked JSON Lines reader (see jsonl_reader.hpp).
#include "spool/jsonl_reader.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace submitd::spool {
namespace {

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

}  // namespace

JsonlReader::JsonlReader(int fd, size_t max_line_bytes, size_t chunk_bytes)
    : fd_(fd),
      max_line_bytes_(max_line_bytes),
      chunk_bytes_(std::max<size_t>(chunk_bytes, 1)),
      // A pending line may hold max_line_bytes plus a '\r' before it is known to be too long;
      // one more chunk must still fit behind it.
      limit_(max_line_bytes + 1 + chunk_bytes_) {
  buf_.reserve(std::min(limit_, chunk_bytes_));
  buf_.resize(std::min(limit_, chunk_bytes_));
}

void JsonlReader::start_at(uint64_t offset, uint64_t lines_before) {
  if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0)
    throw std::system_error(errno, std::generic_category(), "seek in JSON Lines file");
  offset_ = start_offset_ = offset;
  line_number_ = lines_before;
}

std::optional<JsonlLine> JsonlReader::next() {
  for (;;) {
    if (scan_ < end_) {
      const void* nl = std::memchr(buf_.data() + scan_, '\n', end_ - scan_);
      if (nl) {
        auto line = take_line(static_cast<size_t>(static_cast<const char*>(nl) - buf_.data()), 1);
        if (line) return line;
        continue;  // a blank line
      }
      scan_ = end_;
    }
    // No newline in the buffer. A pending line that already exceeds the limit (allowing a
    // trailing '\r') is dropped from memory; so is every further piece of it.
    size_t pending = end_ - begin_;
    if (!skipping_ && pending > max_line_bytes_ + 1) {
      skipping_ = true;
      skipped_ = 0;
      skip_offset_ = offset_;
    }
    if (skipping_ && pending > 0) {
      skipped_ += pending;
      skip_last_ = buf_[end_ - 1];
      offset_ += pending;
      begin_ = scan_ = end_ = 0;
    }
    if (eof_) return take_last_line();
    fill();
  }
}

std::optional<JsonlLine> JsonlReader::take_line(size_t line_end, size_t terminator) {
  JsonlLine line;
  line.number = ++line_number_;
  size_t len = line_end - begin_;
  line.offset = skipping_ ? skip_offset_ : offset_;
  std::string_view text(buf_.data() + begin_, len);
  offset_ += len + terminator;
  begin_ = scan_ = line_end + terminator;
  if (skipping_) {
    skipping_ = false;
    char last = len > 0 ? text.back() : skip_last_;
    line.length = skipped_ + len - (last == '\r' ? 1 : 0);
    line.too_long = true;
    return line;
  }
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  line.length = text.size();
  if (text.size() > max_line_bytes_) {
    line.too_long = true;
    return line;
  }
  if (is_blank(text)) return std::nullopt;
  line.text = text;
  return line;
}

std::optional<JsonlLine> JsonlReader::take_last_line() {
  // At end of input: whatever is pending is a last line without a newline.
  if (skipping_) {
    skipping_ = false;
    JsonlLine line;
    line.number = ++line_number_;
    line.offset = skip_offset_;
    line.length = skipped_ - (skip_last_ == '\r' ? 1 : 0);
    line.too_long = true;
    return line;
  }
  if (end_ == begin_) return std::nullopt;
  return take_line(end_, 0);  // nullopt (blank) ends the input: nothing is pending any more
}

void JsonlReader::fill() {
  if (begin_ > 0) {  // move the partial line to the front; earlier views are dead by contract
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    scan_ -= begin_;
    begin_ = 0;
  }
  if (buf_.size() - end_ < chunk_bytes_ && buf_.size() < limit_) {
    size_t size = std::min(limit_, std::max(buf_.size() * 2, end_ + chunk_bytes_));
    buf_.reserve(size);  // exactly: resize() alone may double the capacity past the bound
    buf_.resize(size);
  }
  for (;;) {
    ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "read JSON Lines file");
    if (n == 0) eof_ = true;
    end_ += static_cast<size_t>(n);
    return;
  }
}

}  // namespace submitd::spool
