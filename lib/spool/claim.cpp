// Role: claiming, classification and crash recovery of spool files (see claim.hpp).
#include "spool/claim.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "util/durable_fs.hpp"
#include "util/utf8.hpp"

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
  if (file.name_shortened) {
    file.kind = InputKind::unreadable;
    file.reject_reason = "had a name longer than " + std::to_string(kLongestClaimableName) +
                         " bytes, too long to claim (the claim id needs the rest of the 255); it is kept under its "
                         "first bytes and " + std::string(kShortenedNameSuffix) +
                         ": give it a shorter name and drop it again";
    return;
  }
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

namespace {

WallTime wall_time_of(const struct timespec& t) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::seconds(t.tv_sec) +
                                                                 std::chrono::nanoseconds(t.tv_nsec)));
}

// The separator after the claim id and the name kept in active/ for a file dropped as `name`.
std::pair<char, std::string> claimed_as(const std::string& name) {
  if (name.size() <= kLongestClaimableName) return {'.', name};
  return {'~', std::string(utf8_prefix(name, kShortenedNameBytes)) + std::string(kShortenedNameSuffix)};
}

}  // namespace

bool is_claim_of(std::string_view active_entry, const std::string& dropped_name) {
  const auto [separator, kept_name] = claimed_as(dropped_name);
  const std::string suffix = separator + kept_name;
  if (active_entry.size() <= suffix.size() || !active_entry.ends_with(suffix)) return false;
  return is_claim_id(active_entry.substr(0, active_entry.size() - suffix.size()));
}

std::optional<ClaimedFile> claim_file(const SpoolPaths& paths, const std::string& name) {
  ClaimedFile file;
  file.claim_id = new_claim_id();
  const auto [separator, kept_name] = claimed_as(name);
  file.original_name = kept_name;
  file.name_shortened = separator == '~';
  file.active_path = paths.active / (file.claim_id + separator + file.original_name);
  fs::path from = paths.incoming / name;
  struct stat st {};
  file.arrived = ::lstat(from.c_str(), &st) == 0 ? wall_time_of(st.st_ctim) : WallTime(std::chrono::system_clock::now());
  if (auto ec = rename_noreplace(from, file.active_path)) {
    if (ec.value() == ENOENT) return std::nullopt;
    throw std::system_error(ec, "claim " + from.string());
  }
  // Not a symlink's target: AT_SYMLINK_NOFOLLOW. A failure only leaves the producer's time.
  ::utimensat(AT_FDCWD, file.active_path.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);
  classify_claimed(file);
  return file;
}

std::vector<ClaimedFile> recover_claims(const SpoolPaths& paths) {
  std::vector<std::pair<fs::file_time_type, ClaimedFile>> found;
  for (const auto& entry : fs::directory_iterator(paths.active)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(".")) {
      // A held outcome (job following) stays while its input is here; see below.
      if (name.ends_with(".held")) continue;
      std::error_code ignored;
      fs::remove(entry.path(), ignored);  // an unfinished outcome temp: rebuilt on rework
      continue;
    }
    if (name.size() < 18 || (name[16] != '.' && name[16] != '~') ||
        !is_claim_id(std::string_view(name).substr(0, 16))) {
      continue;  // not ours; leave it alone
    }
    ClaimedFile file;
    file.claim_id = name.substr(0, 16);
    file.name_shortened = name[16] == '~';
    file.original_name = name.substr(17);
    file.active_path = entry.path();
    file.recovered = true;
    // Its claim set its times (rename, then utimensat): the change time is the claim's.
    struct stat st {};
    if (::lstat(file.active_path.c_str(), &st) == 0) file.arrived = wall_time_of(st.st_ctim);
    std::error_code held_ec;
    file.awaiting_jobs = fs::exists(paths.active / ("." + file.claim_id + ".outcome.held"), held_ec);
    classify_claimed(file);
    std::error_code ec;
    auto t = fs::symlink_status(entry.path(), ec).type() == fs::file_type::regular
                 ? fs::last_write_time(entry.path(), ec)
                 : fs::file_time_type{};
    found.emplace_back(t, std::move(file));
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  // Held files left behind: an outcome held for an input already placed (a crash between the
  // placement and its clean-up), or a retry file held without its outcome (a crash inside
  // hold(); the file is worked again and writes both anew).
  std::map<std::string, bool> held_by_claim;
  for (const auto& [t, f] : found) held_by_claim[f.claim_id] = f.awaiting_jobs;
  for (const auto& entry : fs::directory_iterator(paths.active)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with(".") || !name.ends_with(".held") || name.size() < 18) continue;
    auto owner = held_by_claim.find(name.substr(1, 16));
    if (owner == held_by_claim.end() || (name.ends_with(".retry.held") && !owner->second)) {
      std::error_code ignored;
      fs::remove(entry.path(), ignored);
    }
  }
  std::vector<ClaimedFile> out;
  for (auto& [t, f] : found) out.push_back(std::move(f));
  return out;
}

IncomingScan scan_incoming(const SpoolPaths& paths, std::size_t keep,
                           const std::function<bool(std::string_view)>& passed_by) {
  using Entry = std::pair<struct timespec, std::string>;
  auto older = [](const Entry& a, const Entry& b) {
    if (a.first.tv_sec != b.first.tv_sec) return a.first.tv_sec < b.first.tv_sec;
    if (a.first.tv_nsec != b.first.tv_nsec) return a.first.tv_nsec < b.first.tv_nsec;
    return a.second < b.second;
  };
  // A max-heap of the `keep` oldest seen so far: its top is the youngest of them.
  std::vector<Entry> heap;
  IncomingScan scan;
  DIR* dir = ::opendir(paths.incoming.c_str());
  if (dir == nullptr) {
    throw std::system_error(errno, std::generic_category(), "open " + paths.incoming.string());
  }
  int dfd = ::dirfd(dir);
  std::optional<struct timespec> earliest;
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(dir);
    if (e == nullptr) break;
    std::string_view name = e->d_name;
    if (name.empty() || name[0] == '.') continue;  // ".", "..", and producers' hidden files
    struct stat st {};
    if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // raced away
    ++scan.files;
    if (!earliest || older({st.st_ctim, {}}, {*earliest, {}})) earliest = st.st_ctim;
    if (keep == 0 || (passed_by && passed_by(name))) continue;
    Entry entry{st.st_mtim, std::string(name)};
    if (heap.size() < keep) {
      heap.push_back(std::move(entry));
      std::push_heap(heap.begin(), heap.end(), older);
    } else if (older(entry, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), older);
      heap.back() = std::move(entry);
      std::push_heap(heap.begin(), heap.end(), older);
    }
  }
  ::closedir(dir);
  std::sort_heap(heap.begin(), heap.end(), older);
  scan.oldest.reserve(heap.size());
  for (auto& [t, n] : heap) scan.oldest.push_back(std::move(n));
  if (earliest) scan.earliest_arrival = wall_time_of(*earliest);
  return scan;
}

}  // namespace submitd::spool
