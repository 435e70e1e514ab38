// Role: the full-disk guard's decisions and its two file-system look-ups (see storage_guard.hpp).
#include "spool/storage_guard.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <fmt/format.h>

#include "util/fd_io.hpp"
#include <string>

namespace submitd::spool {

bool is_out_of_space(const std::error_code& ec) {
  // errno values arrive in the generic or the system category. (EDQUOT has no std::errc, so
  // libstdc++ does not map a system-category EDQUOT to the generic one: compare values.)
  const bool errno_value = ec.category() == std::generic_category() || ec.category() == std::system_category();
  return errno_value && (ec.value() == ENOSPC || ec.value() == EDQUOT);
}

bool is_out_of_space(const std::exception& e) {
  const auto* sys = dynamic_cast<const std::system_error*>(&e);
  return sys != nullptr && is_out_of_space(sys->code());
}

StorageGuard::StorageGuard(std::uint64_t reserve_bytes, std::chrono::nanoseconds probe_every)
    : reserve_bytes_(reserve_bytes), probe_every_(probe_every) {}

void StorageGuard::start_spell(std::string reason, MonoTime now) {
  full_ = true;
  reason_ = std::move(reason);
  next_probe_ = now + probe_every_;
}

bool StorageGuard::on_write_failure(std::string_view what, const std::error_code& ec, MonoTime now) {
  if (!is_out_of_space(ec)) return false;
  if (full_) {
    // A write failing during a spell means the space is still not there: look later.
    next_probe_ = now + probe_every_;
    return false;
  }
  start_spell(fmt::format("{}: {}", what, ec.message()), now);
  return true;
}

bool StorageGuard::on_free_space(std::uint64_t free_bytes, MonoTime now) {
  if (full_ || free_bytes >= reserve_bytes_) return false;
  start_spell(fmt::format("{} bytes free, below the reserve of {} (spool.min_free_mb)", free_bytes,
                          reserve_bytes_),
              now);
  return true;
}

bool StorageGuard::on_probe(std::uint64_t free_bytes, bool write_ok, MonoTime now) {
  if (!full_) return false;
  if (!write_ok || free_bytes < reserve_bytes_) {
    next_probe_ = now + probe_every_;
    if (!write_ok) {
      reason_ = fmt::format("a test write does not fit ({} bytes free)", free_bytes);
    } else {
      reason_ = fmt::format("{} bytes free, below the reserve of {} (spool.min_free_mb)", free_bytes,
                            reserve_bytes_);
    }
    return false;
  }
  full_ = false;
  reason_.clear();
  return true;
}

std::uint64_t free_bytes(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) {
    throw std::system_error(errno, std::generic_category(), "statvfs " + dir);
  }
  return static_cast<std::uint64_t>(st.f_bavail) * static_cast<std::uint64_t>(st.f_frsize);
}

bool probe_write(const std::string& dir) {
  const std::string path = dir + "/.space-probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return false;
  // About one outcome file's worth of a small batch: enough to say "writes fit again".
  static const std::string block(64 * 1024, '\n');
  bool ok = write_all(fd, block);
  if (ok && ::fsync(fd) != 0) ok = false;
  ::close(fd);
  ::unlink(path.c_str());
  return ok;
}

}  // namespace submitd::spool
