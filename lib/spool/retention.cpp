// Role: pruning of done/ (see retention.hpp).
#include "spool/retention.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "util/durable_fs.hpp"

namespace submitd::spool {

std::size_t prune_done(const SpoolPaths& paths, WallTime cutoff) {
  DIR* dir = ::opendir(paths.done.c_str());
  if (dir == nullptr) throw std::system_error(errno, std::generic_category(), "open " + paths.done.string());
  const int dfd = ::dirfd(dir);
  const auto cutoff_s = std::chrono::duration_cast<std::chrono::seconds>(cutoff.time_since_epoch()).count();
  std::size_t removed = 0;
  while (dirent* e = ::readdir(dir)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) continue;
    if (st.st_mtim.tv_sec >= cutoff_s) continue;
    if (::unlinkat(dfd, e->d_name, 0) == 0) ++removed;
  }
  ::closedir(dir);
  if (removed > 0) fsync_dir(paths.done);
  return removed;
}

}  // namespace submitd::spool
