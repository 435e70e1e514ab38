// Role: the rules for a request's inputFile (issue 19's upload): where it may be, and what it
// may be. A relative path resolves against upload.dir; an absolute one must lie under one of
// upload.allowed_dirs. It is opened beneath that directory with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS): no ".." out of it, no symlink anywhere on the way (the last part
// included), and O_NONBLOCK so a FIFO cannot hang the open; then it must be a regular file no
// larger than upload.max_bytes. The size and modification time seen here are what the upload
// checks again before it reads (a file changed since validation fails). Plain code: the
// system calls only, no Asio.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/settings.hpp"
#include "util/unique_fd.hpp"

namespace submitd::spool {

struct InputFileRules {
  std::filesystem::path dir;                        // relative paths resolve here; empty: none allowed
  std::vector<std::filesystem::path> allowed_dirs;  // absolute paths must lie under one of these
  std::uint64_t max_bytes = 0;
};

struct OpenedInputFile {
  UniqueFd fd;  // open for reading
  std::uint64_t size = 0;
  timespec mtime{};
};

// The rules of the [upload] settings.
inline InputFileRules input_rules_of(const config::UploadSettings& upload) {
  return {upload.dir.value_or(std::filesystem::path()), upload.allowed_dirs, upload.max_bytes};
}

// The file opened by the rules, or why not, in words for the request's outcome (the path is
// the request's own text and is not repeated).
std::variant<OpenedInputFile, std::string> open_input_file(std::string_view path, const InputFileRules& rules);

// Whether the open file still has the size and modification time seen at validation.
bool unchanged_since(int fd, std::uint64_t size, const timespec& mtime);

// The file again, for its upload: opened by the same rules and still with the size and
// modification time seen at validation, so the bytes sent are those that were checked.
std::variant<OpenedInputFile, std::string> reopen_unchanged(std::string_view path, const InputFileRules& rules,
                                                           std::uint64_t size, const timespec& mtime);

}  // namespace submitd::spool
