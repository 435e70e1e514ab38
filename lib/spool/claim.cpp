// Role: claiming, classification and crash recovery of spool files (see claim.hpp).
#include "spool/claim.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "util/durable_fs.hpp"

namespace submitd::spool {
namespace fs = std::filesystem;

std::string new_claim_id() { return random_hex(8); }

bool is_claim_id(std::string_view text) {
  return text.size() == 16 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

namespace {
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
}  // namespace

void classify_claimed(ClaimedFile& file) {
  struct stat st {};
  if (::lstat(file.active_path.c_str(), &st) != 0) {
    file.kind = InputKind::unreadable;
    file.reject_reason = std::string("cannot stat the claimed file: ") + std::strerror(errno);
    return;
  }
  if (S_ISLNK(st.st_mode)) {
    file.kind = InputKind::unreadable;
    file.reject_reason = "is a symbolic link; the daemon never follows links: drop the file itself";
  } else if (S_ISDIR(st.st_mode)) {
    file.kind = InputKind::unreadable;
    file.reject_reason = "is a directory; drop .json or .jsonl files, not folders";
  } else if (!S_ISREG(st.st_mode)) {
    file.kind = InputKind::unreadable;
    file.reject_reason = "is not a regular file (device, FIFO or socket)";
  } else if (ends_with(file.original_name, ".jsonl")) {
    file.kind = InputKind::jsonl;
  } else if (ends_with(file.original_name, ".json")) {
    file.kind = InputKind::json;
  } else {
    file.kind = InputKind::unreadable;
    file.reject_reason = "has an unsupported extension; use .json (one request) or .jsonl (one per line)";
  }
}

std::optional<ClaimedFile> claim_file(const SpoolPaths& paths, const std::string& name) {
  ClaimedFile file;
  file.claim_id = new_claim_id();
  file.original_name = name;
  file.active_path = paths.active / (file.claim_id + "." + name);
  fs::path from = paths.incoming / name;
  if (auto ec = rename_noreplace(from, file.active_path)) {
    if (ec.value() == ENOENT) return std::nullopt;
    throw std::system_error(ec, "claim " + from.string());
  }
  classify_claimed(file);
  return file;
}

std::vector<ClaimedFile> recover_claims(const SpoolPaths& paths) {
  std::vector<std::pair<fs::file_time_type, ClaimedFile>> found;
  for (const auto& entry : fs::directory_iterator(paths.active)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(".")) {
      std::error_code ignored;
      fs::remove(entry.path(), ignored);  // an unfinished outcome temp: rebuilt on rework
      continue;
    }
    if (name.size() < 18 || name[16] != '.' || !is_claim_id(std::string_view(name).substr(0, 16))) {
      continue;  // not ours; leave it alone
    }
    ClaimedFile file;
    file.claim_id = name.substr(0, 16);
    file.original_name = name.substr(17);
    file.active_path = entry.path();
    file.recovered = true;
    classify_claimed(file);
    std::error_code ec;
    auto t = fs::symlink_status(entry.path(), ec).type() == fs::file_type::regular
                 ? fs::last_write_time(entry.path(), ec)
                 : fs::file_time_type{};
    found.emplace_back(t, std::move(file));
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<ClaimedFile> out;
  for (auto& [t, f] : found) out.push_back(std::move(f));
  return out;
}

std::vector<std::string> list_incoming(const SpoolPaths& paths, std::size_t limit) {
  std::vector<std::pair<struct timespec, std::string>> names;
  DIR* dir = ::opendir(paths.incoming.c_str());
  if (dir == nullptr) {
    throw std::system_error(errno, std::generic_category(), "open " + paths.incoming.string());
  }
  int dfd = ::dirfd(dir);
  while (names.size() < limit) {
    errno = 0;
    dirent* e = ::readdir(dir);
    if (e == nullptr) break;
    std::string_view name = e->d_name;
    if (name.empty() || name[0] == '.') continue;  // ".", "..", and producers' hidden files
    struct stat st {};
    if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // raced away
    names.emplace_back(st.st_mtim, std::string(name));
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end(), [](const auto& a, const auto& b) {
    if (a.first.tv_sec != b.first.tv_sec) return a.first.tv_sec < b.first.tv_sec;
    if (a.first.tv_nsec != b.first.tv_nsec) return a.first.tv_nsec < b.first.tv_nsec;
    return a.second < b.second;
  });
  std::vector<std::string> out;
  out.reserve(names.size());
  for (auto& [t, n] : names) out.push_back(std::move(n));
  return out;
}

}  // namespace submitd::spool
