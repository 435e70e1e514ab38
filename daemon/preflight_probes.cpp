// Role: the preflight's probes of the real system (see preflight.hpp): they try what the
// daemon will do (make a directory, bind an address) rather than reason about modes, so ACLs,
// read-only mounts and /proc answer for themselves.
#include <grp.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "preflight.hpp"
#include "state_dir.hpp"

namespace submitd {
namespace {

namespace fs = std::filesystem;

// The directory itself, or the nearest of its parents that exists.
fs::path nearest_existing(const fs::path& dir, std::error_code& ec) {
  fs::path p = dir;
  while (!fs::exists(p, ec)) {
    if (ec || p == p.parent_path() || p.empty()) return p;
    p = p.parent_path();
  }
  return p;
}

std::optional<std::string> directory_problem(const fs::path& dir) {
  std::error_code ec;
  const fs::path existing = nearest_existing(dir, ec);
  if (ec) return fmt::format("cannot look at {}: {}", existing.string(), ec.message());
  const bool is_dir = existing == dir;
  if (!fs::is_directory(existing, ec)) {
    return is_dir ? fmt::format("{} is not a directory", dir.string())
                  : fmt::format("{} cannot be created: {} is not a directory", dir.string(), existing.string());
  }
  // A scratch directory made and removed: what the daemon does there (create files, rename
  // into subdirectories) needs the same rights.
  std::string scratch = (existing / ".bytenite-submitd-preflight-XXXXXX").string();
  if (::mkdtemp(scratch.data()) == nullptr) {
    const int err = errno;
    return is_dir ? fmt::format("{} is not writable by uid {}: {}", dir.string(), ::geteuid(), std::strerror(err))
                  : fmt::format("{} does not exist and cannot be created in {} by uid {}: {}", dir.string(),
                                existing.string(), ::geteuid(), std::strerror(err));
  }
  ::rmdir(scratch.c_str());
  return std::nullopt;
}

bool group_exists(const std::string& name) {
  group entry{};
  group* found = nullptr;
  std::vector<char> buf(16384);
  while (::getgrnam_r(name.c_str(), &entry, buf.data(), buf.size(), &found) == ERANGE && buf.size() < (1u << 22)) {
    buf.resize(buf.size() * 2);
  }
  return found != nullptr;
}

std::optional<std::string> listen_problem(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int gai = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (gai != 0) return fmt::format("cannot resolve {}: {}", host, ::gai_strerror(gai));
  std::optional<std::string> problem;
  const int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
  if (fd < 0) {
    problem = std::strerror(errno);
  } else {
    const int on = 1;  // as a listener would: a port in TIME_WAIT is free, one listened on is not
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, 1) != 0) problem = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return problem;
}

bool daemon_running(const fs::path& state_dir) {
  spool::SpoolPaths paths;
  paths.state = state_dir;
  return instance_lock_held(state_lock_file(paths));
}

}  // namespace

PreflightProbes system_probes() { return {directory_problem, group_exists, listen_problem, daemon_running}; }

}  // namespace submitd
