// Role: a downloaded result's file under results.download_dir (issue 19's downloads). Every
// directory on its way is made and opened beneath the download directory one part at a time
// with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so a symlink planted there cannot lead
// the write elsewhere. The bytes go to a temp file in the final directory; commit() fsyncs it,
// renames it over the final name and fsyncs the directory: a file under its final name is
// always whole. A file not committed is removed. Plain code: system calls only, no Asio.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "util/unique_fd.hpp"

namespace submitd::spool {

class ResultFile {
 public:
  // The temp file `temp_name` (a stale one from an interrupted run is replaced) in the
  // directory of `relative` (result_path's answer) beneath `download_dir`, or why not.
  static std::variant<std::unique_ptr<ResultFile>, std::string> create(const std::filesystem::path& download_dir,
                                                                      const std::filesystem::path& relative,
                                                                      std::string_view temp_name);
  ~ResultFile();
  ResultFile(const ResultFile&) = delete;
  ResultFile& operator=(const ResultFile&) = delete;

  // Empties the temp file: a new attempt starts from its first byte.
  bool restart();
  // Appends; false with trouble() set when the disk refuses (disk_full() when it is full).
  bool write(std::string_view bytes);
  std::uint64_t written() const { return written_; }
  const std::string& trouble() const { return trouble_; }
  bool disk_full() const { return disk_full_; }
  // fsync, rename over the final name, fsync the directory; false with trouble() set.
  bool commit();
  // The final file's path, as written to the outcome.
  const std::filesystem::path& final_path() const { return final_path_; }

 private:
  ResultFile(UniqueFd dir, UniqueFd file, std::string temp_name, std::string final_name,
             std::filesystem::path final_path);
  bool fail(std::string_view what, int err);

  UniqueFd dir_;
  UniqueFd file_;
  std::string temp_name_;
  std::string final_name_;
  std::filesystem::path final_path_;
  std::uint64_t written_ = 0;
  std::uint64_t writeback_from_ = 0;  // writeback was started for the bytes before this
  bool committed_ = false;
  bool disk_full_ = false;
  std::string trouble_;
};

}  // namespace submitd::spool
