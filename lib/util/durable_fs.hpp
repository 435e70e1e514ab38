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

// A new file on its way into place, in the steps a group commit runs across many files at
// once: written to a hidden temp beside its final path with its writeback started (the
// constructor), synced (sync), renamed into place (install). Syncing the directory after the
// install is the caller's step. Destroyed before it was installed, it removes its temp.
// Every step throws std::system_error naming the file.
class FileDraft {
 public:
  FileDraft(std::filesystem::path final_path, std::string_view content, mode_t mode = 0640);
  ~FileDraft();
  FileDraft(FileDraft&& other) noexcept;
  FileDraft& operator=(FileDraft&&) = delete;
  FileDraft(const FileDraft&) = delete;
  FileDraft& operator=(const FileDraft&) = delete;

  void sync();     // fsync and close the temp (idempotent)
  void install();  // sync() if not done, then rename the temp over the final path
  const std::filesystem::path& final_path() const { return final_; }

 private:
  void discard() noexcept;

  std::filesystem::path final_, tmp_;
  int fd_ = -1;
  bool pending_ = true;  // the temp exists and is not installed
};

// One FileDraft, installed, then its directory fsynced. Throws std::system_error on failure.
void write_file_durably(const std::filesystem::path& final_path, std::string_view content,
                        mode_t mode = 0640);

// rename(2) that fails with EEXIST instead of replacing an existing target.
std::error_code rename_noreplace(const std::filesystem::path& from,
                                 const std::filesystem::path& to);

// `bytes` random bytes as lower-case hex (getrandom).
std::string random_hex(std::size_t bytes);

}  // namespace submitd
