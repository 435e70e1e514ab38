// Role: instance lock and job namespace (see state_dir.hpp).
#include "state_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "util/durable_fs.hpp"

namespace submitd {

InstanceLock::InstanceLock(const std::filesystem::path& state_dir) {
  auto path = state_dir / "lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) {
    throw std::runtime_error("cannot open lock file " + path.string() + ": " + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = {};
    ssize_t n = ::pread(fd_, buf, sizeof(buf) - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "unknown";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      throw std::runtime_error("another bytenite-submitd (pid " + holder + ") is already running on this spool (lock " +
                               path.string() + ")");
    }
    throw std::runtime_error("cannot lock " + path.string() + ": " + std::strerror(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] ssize_t w = ::pwrite(fd_, pid.data(), pid.size(), 0);
  }
}

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) ::close(fd_);
}

Uuid load_or_create_job_namespace(const std::filesystem::path& state_dir) {
  auto path = state_dir / "namespace-uuid";
  std::ifstream in(path);
  if (in) {
    std::string text;
    std::getline(in, text);
    if (auto id = Uuid::parse(text)) return *id;
    throw std::runtime_error(path.string() + " is damaged (expected one UUID); restore it from a backup: "
                             "jobIds of requests in flight depend on it");
  }
  Uuid id = uuid_v4_random();
  write_file_durably(path, id.str() + "\n", 0600);
  return id;
}

}  // namespace submitd
