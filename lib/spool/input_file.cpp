// Role: opening a request's inputFile by the rules (see input_file.hpp).
#include "spool/input_file.hpp"

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

// The directory the path is opened beneath, and the path relative to it; or why not.
struct Place {
  fs::path base;
  fs::path rest;
  std::string refusal;
};

Place place_of(const fs::path& path, const InputFileRules& rules) {
  if (path.is_relative()) {
    if (rules.dir.empty()) return {{}, {}, "a relative inputFile needs upload.dir, which is not set"};
    return {rules.dir, path, {}};
  }
  const fs::path normal = path.lexically_normal();
  for (const auto& allowed : rules.allowed_dirs) {
    const fs::path rest = normal.lexically_relative(allowed.lexically_normal());
    if (!rest.empty() && *rest.begin() != ".." && rest != ".") return {allowed, rest, {}};
  }
  return {{}, {}, "inputFile is outside upload.allowed_dirs"};
}

std::string why_not_opened(int err) {
  switch (err) {
    case ENOENT: return "inputFile does not exist";
    case ELOOP: return "inputFile is or passes through a symlink; uploads read regular files only, found by their own path";
    case EXDEV: return "inputFile leads outside its directory (\"..\"); name it within upload.dir or upload.allowed_dirs";
    case EACCES: return "inputFile cannot be read by the daemon (permission denied)";
    case ENOTDIR: return "inputFile's path goes through something that is not a directory";
    case ENOSYS: return "this kernel cannot open files safely beneath a directory (openat2, Linux 5.6)";
    default: return fmt::format("inputFile cannot be opened: {}", std::strerror(err));
  }
}

// The same size and modification time: the version of the file that was checked.
bool same_version(std::uint64_t size, const timespec& mtime, std::uint64_t size_then, const timespec& mtime_then) {
  return size == size_then && mtime.tv_sec == mtime_then.tv_sec && mtime.tv_nsec == mtime_then.tv_nsec;
}

std::string_view kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

std::variant<OpenedInputFile, std::string> open_input_file(std::string_view path, const InputFileRules& rules) {
  if (path.empty()) return std::string("inputFile is empty");
  if (path.find('\0') != std::string_view::npos) return std::string("inputFile holds a NUL byte");
  Place place = place_of(fs::path(path), rules);
  if (!place.refusal.empty()) return place.refusal;
  UniqueFd base(::open(place.base.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (base.get() < 0) {
    return fmt::format("the directory for inputFile cannot be opened: {}", std::strerror(errno));
  }
  open_how how{};
  how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const int fd = static_cast<int>(::syscall(SYS_openat2, base.get(), place.rest.c_str(), &how, sizeof how));
  if (fd < 0) return why_not_opened(errno);
  OpenedInputFile opened;
  opened.fd = UniqueFd(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fmt::format("inputFile cannot be examined: {}", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fmt::format("inputFile is {}; uploads read regular files only", kind_of(st.st_mode));
  opened.size = static_cast<std::uint64_t>(st.st_size);
  if (opened.size > rules.max_bytes) {
    return fmt::format("inputFile is {} bytes, more than upload.max_bytes ({})", opened.size, rules.max_bytes);
  }
  opened.mtime = st.st_mtim;
  return opened;
}

bool unchanged_since(int fd, std::uint64_t size, const timespec& mtime) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && same_version(static_cast<std::uint64_t>(st.st_size), st.st_mtim, size, mtime);
}

std::variant<OpenedInputFile, std::string> reopen_unchanged(std::string_view path, const InputFileRules& rules,
                                                           std::uint64_t size, const timespec& mtime) {
  auto opened = open_input_file(path, rules);
  if (auto* refusal = std::get_if<std::string>(&opened)) {
    return fmt::format("the input cannot be uploaded any more: {}", *refusal);
  }
  const auto& file = std::get<OpenedInputFile>(opened);
  if (!same_version(file.size, file.mtime, size, mtime)) {
    return fmt::format("inputFile changed after it was validated (it had {} bytes, now {}; or it was modified): "
                       "not uploaded, since it is not the file that was checked. Drop the request again to upload "
                       "it as it is now", size, file.size);
  }
  return opened;
}

}  // namespace submitd::spool
