// Role: instance lock and job namespace (see state_dir.hpp).
#include "state_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "spool/claim.hpp"
#include "util/durable_fs.hpp"

namespace submitd {

std::filesystem::path state_lock_file(const spool::SpoolPaths& paths) { return paths.state / "lock"; }
std::filesystem::path spool_lock_file(const spool::SpoolPaths& paths) {
  return paths.root / ".bytenite-submitd.lock";
}

InstanceLock::InstanceLock(const std::filesystem::path& path) {
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

bool instance_lock_held(const std::filesystem::path& lock_file) {
  const int fd = ::open(lock_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases the shared lock, if it was taken
  return held;
}

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

// A claimed input left in active/ by an earlier run ("<16 hex claim id>.<name>").
std::optional<std::string> first_claimed_file(const std::filesystem::path& active) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(active, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 17 && name[16] == '.' && spool::is_claim_id(std::string_view(name).substr(0, 16))) return name;
  }
  return std::nullopt;
}

}  // namespace

Uuid load_or_create_job_namespace(const spool::SpoolPaths& paths) {
  auto path = paths.state / "namespace-uuid";
  std::ifstream in(path);
  if (in) {
    std::string text;
    std::getline(in, text);
    if (auto id = Uuid::parse(text)) return *id;
    throw std::runtime_error(path.string() + " is damaged (expected one UUID); restore it from a backup: "
                             "jobIds of requests in flight depend on it");
  }
  if (auto claimed = first_claimed_file(paths.active)) {
    throw std::runtime_error(path.string() + " is missing, but " + (paths.active / *claimed).string() +
                             " (and maybe more in active/) was claimed by an earlier run under it: every jobId "
                             "of those files depends on it. Restore the file from a backup of the state "
                             "directory; a new one would orphan their jobs and could run some twice");
  }
  Uuid id = uuid_v4_random();
  write_file_durably(path, id.str() + "\n", 0600);
  return id;
}

}  // namespace submitd
