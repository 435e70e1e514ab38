// Role: a result's temp file, written and committed under its final name (see result_file.hpp).
#include "spool/result_file.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace submitd::spool {
namespace fs = std::filesystem;

namespace {

// Writeback of what was written is started every this many bytes, so the fsync at the end
// finds little left to write (it cost about as much as the download itself otherwise).
constexpr std::uint64_t kWritebackEvery = 8 * 1024 * 1024;

int open_beneath(int dir, const char* name, std::uint64_t flags, mode_t mode = 0) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;  // RESOLVE_NO_SYMLINKS refuses a symlink anywhere, the last part too
  how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dir, name, &how, sizeof how));
}

std::string why(std::string_view what, int err) {
  if (err == ELOOP) return fmt::format("{}: a symlink is in the way; results are written to real directories only", what);
  if (err == ENOTDIR) return fmt::format("{}: a file is in the way of a directory of the result's name", what);
  return fmt::format("{}: {}", what, std::strerror(err));
}

}  // namespace

std::variant<std::unique_ptr<ResultFile>, std::string> ResultFile::create(const fs::path& download_dir,
                                                                         const fs::path& relative,
                                                                         std::string_view temp_name) {
  std::error_code ec;
  fs::create_directories(download_dir, ec);
  UniqueFd dir(::open(download_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return why("results.download_dir cannot be opened", errno);
  // Each directory of the name, made and entered one at a time, never through a symlink.
  for (auto part = relative.begin(); part != relative.end() && std::next(part) != relative.end(); ++part) {
    if (::mkdirat(dir.get(), part->c_str(), 0750) != 0 && errno != EEXIST) {
      return why("the result's directory cannot be made", errno);
    }
    UniqueFd next(open_beneath(dir.get(), part->c_str(), O_PATH | O_DIRECTORY));
    if (next.get() < 0) return why("the result's directory cannot be opened", errno);
    dir = std::move(next);
  }
  const std::string temp(temp_name);
  if (::unlinkat(dir.get(), temp.c_str(), 0) != 0 && errno != ENOENT) {
    return why("a temp file left by an interrupted download cannot be removed", errno);
  }
  UniqueFd file(open_beneath(dir.get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0640));
  if (file.get() < 0) return why("the result's temp file cannot be made", errno);
  return std::unique_ptr<ResultFile>(new ResultFile(std::move(dir), std::move(file), temp,
                                                    relative.filename().string(), download_dir / relative));
}

ResultFile::ResultFile(UniqueFd dir, UniqueFd file, std::string temp_name, std::string final_name,
                       fs::path final_path)
    : dir_(std::move(dir)),
      file_(std::move(file)),
      temp_name_(std::move(temp_name)),
      final_name_(std::move(final_name)),
      final_path_(std::move(final_path)) {}

ResultFile::~ResultFile() {
  if (!committed_) ::unlinkat(dir_.get(), temp_name_.c_str(), 0);
}

bool ResultFile::fail(std::string_view what, int err) {
  disk_full_ = err == ENOSPC || err == EDQUOT;
  trouble_ = disk_full_ ? fmt::format("{}: the disk is full", what) : why(what, err);
  return false;
}

bool ResultFile::restart() {
  written_ = 0;
  writeback_from_ = 0;
  trouble_.clear();
  disk_full_ = false;
  if (::ftruncate(file_.get(), 0) != 0 || ::lseek(file_.get(), 0, SEEK_SET) != 0) {
    return fail("the result's temp file cannot be emptied", errno);
  }
  return true;
}

bool ResultFile::write(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(file_.get(), bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("writing the result failed", n < 0 ? errno : EIO);
    bytes.remove_prefix(static_cast<std::size_t>(n));
    written_ += static_cast<std::uint64_t>(n);
  }
  if (written_ - writeback_from_ >= kWritebackEvery) {
    // Starts writing the range back without waiting for it; an error shows at the fsync.
    ::sync_file_range(file_.get(), static_cast<off_t>(writeback_from_), static_cast<off_t>(written_ - writeback_from_),
                      SYNC_FILE_RANGE_WRITE);
    writeback_from_ = written_;
  }
  return true;
}

bool ResultFile::commit() {
  if (::fsync(file_.get()) != 0) return fail("the result could not be made durable (fsync)", errno);
  if (::renameat(dir_.get(), temp_name_.c_str(), dir_.get(), final_name_.c_str()) != 0) {
    return fail("the result could not take its name", errno);
  }
  committed_ = true;
  // The rename is durable once the directory is: an O_PATH descriptor cannot be fsynced.
  UniqueFd dir(open_beneath(dir_.get(), ".", O_RDONLY | O_DIRECTORY));
  if (dir.get() < 0 || ::fsync(dir.get()) != 0) return fail("the result's directory could not be fsynced", errno);
  return true;
}

}  // namespace submitd::spool
