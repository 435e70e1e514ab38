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

void write_file_durably(const std::filesystem::path& final_path, std::string_view content,
                        mode_t mode) {
  auto dir = final_path.parent_path();
  auto tmp = dir / ("." + final_path.filename().string() + ".tmp-" + random_hex(4));
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) throw sys_error("create", tmp);
  if (!write_all(fd.get(), content)) {
    auto err = sys_error("write", tmp);
    ::unlink(tmp.c_str());
    throw err;
  }
  if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
    auto err = sys_error("fsync", tmp);
    ::unlink(tmp.c_str());
    throw err;
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    auto err = sys_error("rename into place", final_path);
    ::unlink(tmp.c_str());
    throw err;
  }
  fsync_dir(dir);
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
