// Role: the safe spool drop (see spool_drop.hpp).
#include "cli/spool_drop.hpp"
#include "util/fd_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "spool/claim.hpp"
#include "util/durable_fs.hpp"
#include "util/unique_fd.hpp"
#include "util/utf8.hpp"

namespace submitd::cli {
namespace fs = std::filesystem;

namespace {

void copy_synced(int source_fd, const fs::path& path) {
  // 0660: the daemon's group reads it; producers of the same group may too.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0660));
  if (fd.get() < 0) throw std::system_error(errno, std::generic_category(), "create " + path.string());
  std::vector<char> buf(64 * 1024);
  for (;;) {
    ssize_t got = ::read(source_fd, buf.data(), buf.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "read the input");
    }
    if (got == 0) break;
    if (!write_all(fd.get(), std::string_view(buf.data(), static_cast<std::size_t>(got)))) {
      throw std::system_error(errno, std::generic_category(), "write " + path.string());
    }
  }
  if (::fsync(fd.get()) != 0) throw std::system_error(errno, std::generic_category(), "fsync " + path.string());
  if (::close(fd.release()) != 0) throw std::system_error(errno, std::generic_category(), "close " + path.string());
}

}  // namespace

std::string drop_into_spool(const fs::path& spool, const std::string& name, int source_fd) {
  fs::path base = fs::path(name).filename();
  std::string ext = base.extension().string();
  if (base.empty() || base.string()[0] == '.' || (ext != ".json" && ext != ".jsonl")) {
    throw std::invalid_argument("'" + name + "': the spool takes NAME.json (one request) or NAME.jsonl (one per line)");
  }
  if (base.string().size() > spool::kLongestClaimableName) {
    throw std::invalid_argument(fmt::format("'{}': a spool file name may be at most {} bytes (this one has {})",
                                            base.string(), spool::kLongestClaimableName, base.string().size()));
  }
  const fs::path tmp = spool / "tmp" / ("." + std::string(utf8_prefix(base.string(), 200)) + "." + random_hex(8) + ".part");
  try {
    copy_synced(source_fd, tmp);
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  // A clash gets a random part before the extension; the stem gives up bytes to make room for it.
  const std::string stem(utf8_prefix(base.stem().string(), spool::kLongestClaimableName - 9 - ext.size()));
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string final_name = attempt == 0 ? base.string() : stem + "." + random_hex(4) + ext;
    auto ec = rename_noreplace(tmp, spool / "incoming" / final_name);
    if (!ec) {
      fsync_dir(spool / "incoming");
      return final_name;
    }
    if (ec != std::errc::file_exists) {
      std::error_code ignored;
      fs::remove(tmp, ignored);
      throw std::system_error(ec, "move into " + (spool / "incoming").string());
    }
  }
  std::error_code ignored;
  fs::remove(tmp, ignored);
  throw std::system_error(std::make_error_code(std::errc::file_exists), "no free name in incoming/ for " + base.string());
}

}  // namespace submitd::cli
