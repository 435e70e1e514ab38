// Role: the file-system moves that keep promise 1 (nothing accepted is lost) across power loss:
// every file is fsynced before it is renamed into place, and its directory after the rename;
// renames into done/ and failed/ never overwrite.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace submitd {

void fsync_dir(const std::filesystem::path& dir);

// Writes `content` to a hidden temp file beside `final_path`, fsyncs it, renames it over
// `final_path` and fsyncs the directory. Throws std::system_error on failure.
void write_file_durably(const std::filesystem::path& final_path, std::string_view content,
                        mode_t mode = 0640);

// rename(2) that fails with EEXIST instead of replacing an existing target.
std::error_code rename_noreplace(const std::filesystem::path& from,
                                 const std::filesystem::path& to);

// `bytes` random bytes as lower-case hex (getrandom).
std::string random_hex(std::size_t bytes);

}  // namespace submitd
