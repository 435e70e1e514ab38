// Role: the requests of one input file, one at a time, in order, each either parsed or with
// the reason it was refused: a whole .json file (refused whole when over the size limit) or a
// .jsonl file streamed line by line (a line over the limit is refused without being read).
// The daemon and `bytenite-submit validate` both read inputs through this, so they refuse
// the same requests with the same words. Reads only the descriptor it is given, which the
// caller opened itself (O_NOFOLLOW) and checked to be a regular file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "spool/claim.hpp"
#include "spool/jsonl_reader.hpp"
#include "spool/request_parser.hpp"

namespace submitd::spool {

struct InputItem {
  std::uint64_t line = 0;  // 0: the file as a whole
  // Where the request's text is in the file (for a retry file); length 0: nothing to retry.
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::variant<JobRequest, std::string> parsed;  // the request, or why it was refused
  bool ok() const { return std::holds_alternative<JobRequest>(parsed); }
};

class InputReader {
 public:
  // `kind` is json or jsonl; `file_size` from fstat of `fd`.
  InputReader(int fd, InputKind kind, std::uint64_t file_size, std::uint64_t max_request_bytes,
                RequestParser& parser);
  // The next request, or nullopt at the end. Throws std::system_error when reading fails.
  std::optional<InputItem> next();
  // How much of the file the requests so far were read from (all of it once next() ended).
  std::uint64_t bytes_read() const { return lines_ ? lines_->bytes_consumed() : whole_file_bytes_; }

 private:
  int fd_;
  InputKind kind_;
  std::uint64_t file_size_;
  std::uint64_t max_request_bytes_;
  RequestParser& parser_;
  std::optional<JsonlReader> lines_;
  bool whole_file_done_ = false;
  std::uint64_t whole_file_bytes_ = 0;
};

// A producer still writing a file after it reached incoming/ (instead of writing in tmp/ and
// renaming) changes it under the reader: whatever it added after the read is never submitted.
// The reason to fail the file with, when the size of `fd` is no longer `bytes_read`.
std::optional<std::string> changed_since_read(int fd, std::uint64_t bytes_read);

// Opens `path` for reading the way the daemon does (no symlinks followed, no blocking on a
// FIFO) and checks it is a regular file: the descriptor and its size, or the reason it
// cannot be read (for an outcome record with line 0).
struct OpenedInput {
  int fd = -1;  // owned by the caller when >= 0
  std::uint64_t size = 0;
  std::string refusal;
};
OpenedInput open_input(const std::string& path);

}  // namespace submitd::spool
