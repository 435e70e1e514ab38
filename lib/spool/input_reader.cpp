// Role: reading the requests of one input (see input_reader.hpp).
#include "spool/input_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace submitd::spool {

InputReader::InputReader(int fd, InputKind kind, std::uint64_t file_size,
                             std::uint64_t max_request_bytes, RequestParser& parser)
    : fd_(fd), kind_(kind), file_size_(file_size), max_request_bytes_(max_request_bytes), parser_(parser) {
  if (kind_ == InputKind::jsonl) lines_.emplace(fd_, max_request_bytes_);
}

std::optional<InputItem> InputReader::next() {
  InputItem item;
  if (kind_ == InputKind::json) {
    if (whole_file_done_) return std::nullopt;
    whole_file_done_ = true;
    whole_file_bytes_ = file_size_;
    if (file_size_ > max_request_bytes_) {
      item.parsed = fmt::format("the file is {} bytes; a request may be at most {} bytes (spool.max_request_bytes)",
                                file_size_, max_request_bytes_);
      return item;
    }
    std::string text(static_cast<std::size_t>(file_size_), '\0');
    ssize_t n = ::pread(fd_, text.data(), text.size(), 0);
    if (n < 0) throw std::system_error(errno, std::generic_category(), "read");
    text.resize(static_cast<std::size_t>(n));
    whole_file_bytes_ = text.size();
    item.line = 1;
    item.length = text.size();
    auto parsed = parser_.parse(text, 1);
    if (auto* err = std::get_if<RequestError>(&parsed)) {
      item.parsed = to_string(*err);
    } else {
      item.parsed = std::get<JobRequest>(std::move(parsed));
    }
    return item;
  }
  if (!lines_) return std::nullopt;
  auto line = lines_->next();
  if (!line) return std::nullopt;
  item.line = line->number;
  if (line->too_long) {
    item.parsed = fmt::format("line {}: the line is longer than {} bytes (spool.max_request_bytes); it was not read",
                              line->number, max_request_bytes_);
    return item;
  }
  item.offset = line->offset;
  item.length = line->length;
  auto parsed = parser_.parse(line->text, line->number);
  if (auto* err = std::get_if<RequestError>(&parsed)) {
    item.parsed = to_string(*err);
  } else {
    item.parsed = std::get<JobRequest>(std::move(parsed));
  }
  return item;
}

std::optional<std::string> changed_since_read(int fd, std::uint64_t bytes_read) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return "cannot check the file after reading it: " + std::string(std::strerror(errno));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size == bytes_read) return std::nullopt;
  return fmt::format("the file changed while it was worked: {} bytes were read, it now has {}; what changed after "
                     "the read was not submitted. Write files in tmp/ and rename them into incoming/ when complete, "
                     "never write inside incoming/",
                     bytes_read, size);
}

OpenedInput open_input(const std::string& path) {
  OpenedInput in;
  // O_NONBLOCK: opening a FIFO swapped in after the claim must not hang the reader.
  in.fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (in.fd < 0) {
    in.refusal = "cannot open the file: " + std::string(std::strerror(errno));
    return in;
  }
  struct stat st {};
  if (::fstat(in.fd, &st) != 0) {
    in.refusal = "cannot open the file: " + std::string(std::strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    in.refusal = "is not a regular file";
  }
  if (!in.refusal.empty()) {
    ::close(in.fd);
    in.fd = -1;
    return in;
  }
  in.size = static_cast<std::uint64_t>(st.st_size);
  return in;
}

}  // namespace submitd::spool
