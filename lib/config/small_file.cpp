// Role: whole-file reads of small regular files (see small_file.hpp).
#include "config/small_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace submitd::config {

SmallFileRead read_small_regular_file(const std::filesystem::path& path, std::size_t max_bytes) {
  SmallFileRead out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    out.error = std::strerror(errno);
    return out;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    out.error = "not a regular file";
    return out;
  }
  char chunk[8192];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.error = std::strerror(errno);
      break;
    }
    if (n == 0) break;
    out.text.append(chunk, static_cast<std::size_t>(n));
    if (out.text.size() > max_bytes) {
      out.too_large = true;
      out.error = "too large";
      break;
    }
  }
  ::close(fd);
  std::fill(chunk, chunk + sizeof chunk, '\0');  // it may have held key bytes
  if (!out.ok()) out.text.clear();
  return out;
}

}  // namespace submitd::config
