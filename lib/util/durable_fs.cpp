// Role: durable writes and no-replace renames (see durable_fs.hpp).
#include "util/durable_fs.hpp"
#include "util/fd_io.hpp"
#include "util/unique_fd.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace submitd {
namespace {

std::system_error sys_error(const std::string& what, const std::filesystem::path& p) {
  return std::system_error(errno, std::generic_category(), what + " " + p.string());
}


}  // namespace

void fsync_dir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw sys_error("open directory", dir);
  if (::fsync(fd.get()) != 0) throw sys_error("fsync directory", dir);
}

FileDraft::FileDraft(std::filesystem::path final_path, std::string_view content, mode_t mode)
    : final_(std::move(final_path)),
      tmp_(final_.parent_path() / ("." + final_.filename().string() + ".tmp-" + random_hex(4))) {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd_ < 0) {
    pending_ = false;
    throw sys_error("create", tmp_);
  }
  if (!write_all(fd_, content)) {
    auto err = sys_error("write", tmp_);
    discard();
    throw err;
  }
  // Started now, so that the sync of a whole batch waits for writes already under way.
  ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
}

FileDraft::FileDraft(FileDraft&& other) noexcept
    : final_(std::move(other.final_)), tmp_(std::move(other.tmp_)), fd_(other.fd_), pending_(other.pending_) {
  other.fd_ = -1;
  other.pending_ = false;
}

FileDraft::~FileDraft() { discard(); }

void FileDraft::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (pending_) ::unlink(tmp_.c_str());
  pending_ = false;
}

void FileDraft::sync() {
  if (fd_ < 0) return;
  const int fd = fd_;
  fd_ = -1;
  if (::fsync(fd) != 0) {
    auto err = sys_error("fsync", tmp_);
    ::close(fd);
    throw err;
  }
  if (::close(fd) != 0) throw sys_error("close", tmp_);
}

void FileDraft::install() {
  sync();
  if (::rename(tmp_.c_str(), final_.c_str()) != 0) throw sys_error("rename into place", final_);
  pending_ = false;
}

void write_file_durably(const std::filesystem::path& final_path, std::string_view content,
                        mode_t mode) {
  FileDraft draft(final_path, content, mode);
  draft.install();
  fsync_dir(final_path.parent_path());
}

std::error_code rename_noreplace(const std::filesystem::path& from,
                                 const std::filesystem::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
    return {errno, std::generic_category()};
  }
  return {};
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  std::size_t filled = 0;
  while (filled < bytes) {
    ssize_t n = getrandom(buf.data() + filled, bytes - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    filled += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : buf) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0F]);
  }
  return out;
}

}  // namespace submitd
