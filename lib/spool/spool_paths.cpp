// Role: spool layout creation (see spool_paths.hpp).
#include "spool/spool_paths.hpp"

#include <sys/stat.h>

namespace submitd::spool {
namespace fs = std::filesystem;

SpoolPaths make_spool_paths(const fs::path& root, const fs::path& state) {
  SpoolPaths p;
  p.root = root;
  p.tmp = root / "tmp";
  p.incoming = root / "incoming";
  p.active = root / "active";
  p.done = root / "done";
  p.failed = root / "failed";
  p.state = state.empty() ? root / "state" : state;
  return p;
}

namespace {
void make_dir(const fs::path& dir, mode_t mode) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  fs::create_directories(dir, ec);
  if (ec) throw fs::filesystem_error("cannot create spool directory", dir, ec);
  // Explicit chmod: create_directories is subject to the umask, and setgid must be set here.
  if (::chmod(dir.c_str(), mode) != 0) {
    throw fs::filesystem_error("cannot set mode of", dir, std::error_code(errno, std::generic_category()));
  }
}
}  // namespace

void ensure_spool_layout(const SpoolPaths& p) {
  make_dir(p.root, 02770);
  make_dir(p.tmp, 02770);       // producers stage here
  make_dir(p.incoming, 02770);  // producers rename into here
  make_dir(p.active, 0750);
  make_dir(p.done, 02750);
  make_dir(p.failed, 02750);
  make_dir(p.state, 0700);
}

}  // namespace submitd::spool
