// Role: stream a JSON Lines file one line at a time with bounded memory (one chunk plus the
// current line, never the file), so a backlog of million-line files costs no more memory than
// one line. A line over the limit is reported, not held: its bytes are skipped as they are read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace submitd::spool {

struct JsonlLine {
  uint64_t number = 0;    // 1-based line number in the file (blank lines count too)
  uint64_t offset = 0;    // byte offset of the line's first byte in the file
  uint64_t length = 0;    // bytes of the line without its "\n" or "\r\n"
  std::string_view text;  // the line without terminator; empty when too_long.
                          // Valid until the next call to next().
  bool too_long = false;  // longer than max_line_bytes; its content was skipped
};

class JsonlReader {
 public:
  // 16 KiB: many lines per read, and little memory per file worked (up to 64 at once).
  static constexpr size_t kDefaultChunkBytes = 16 * 1024;

  // Reads `fd` (opened by the caller, e.g. with O_NOFOLLOW; blocking; not closed here).
  // Memory stays below max_line_bytes + chunk_bytes + 1.
  JsonlReader(int fd, size_t max_line_bytes, size_t chunk_bytes = kDefaultChunkBytes);

  JsonlReader(const JsonlReader&) = delete;
  JsonlReader& operator=(const JsonlReader&) = delete;

  // Resume after a crash: seeks `fd` to `offset` (the start of a line, as reported in
  // JsonlLine::offset) and numbers the following lines from `lines_before + 1`.
  // Call before the first next(). Throws std::system_error if the seek fails.
  void start_at(uint64_t offset, uint64_t lines_before);

  // The next line that is not blank (whitespace only), or nullopt at the end of the input.
  // A last line without a trailing newline is returned too. Throws std::system_error
  // (with the errno of read(2)) on a read error; EINTR is retried.
  std::optional<JsonlLine> next();

  // Bytes consumed so far (from the start offset), for progress reporting.
  uint64_t bytes_consumed() const { return offset_ - start_offset_; }

  // Bytes held for buffering now; stays within the bound above (tests check the promise).
  size_t buffer_capacity() const { return buf_.capacity(); }

 private:
  // The pending line ends at `line_end`, followed by `terminator` bytes ('\n': 1, EOF: 0).
  std::optional<JsonlLine> take_line(size_t line_end, size_t terminator);
  std::optional<JsonlLine> take_last_line();
  void fill();

  int fd_;
  size_t max_line_bytes_;
  size_t chunk_bytes_;
  size_t limit_;  // the buffer never grows past this
  std::vector<char> buf_;
  size_t begin_ = 0;     // first byte of the pending line
  size_t scan_ = 0;      // bytes before this were searched for '\n' already
  size_t end_ = 0;       // end of valid data
  uint64_t offset_ = 0;  // file offset of buf_[begin_]
  uint64_t start_offset_ = 0;
  uint64_t line_number_ = 0;  // lines completed so far
  bool eof_ = false;
  // Skipping an over-long line: bytes dropped so far, where it started, its last byte.
  bool skipping_ = false;
  uint64_t skipped_ = 0;
  uint64_t skip_offset_ = 0;
  char skip_last_ = 0;
};

}  // namespace submitd::spool
