// Role: streaming outcome/retry files and placing a finished input (see finished_file.hpp).
#include "spool/finished_file.hpp"

#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "util/durable_fs.hpp"
#include "util/fd_io.hpp"
#include "util/utf8.hpp"

namespace submitd::spool {
namespace fs = std::filesystem;

namespace {
std::system_error io_error(const std::string& what, const fs::path& p) {
  return std::system_error(errno, std::generic_category(), what + " " + p.string());
}

// Each outcome and retry file carries its claim id in an extended attribute, synced with the
// file: after a crash between placing a file's outcome and moving its input, the rework finds
// its outcome already placed instead of placing a second one beside it. (Where the file
// system takes no user attributes, such a crash can still leave a second outcome.)
constexpr const char* kClaimAttribute = "user.bytenite_submitd.claim";

int open_temp(const fs::path& p, const std::string& claim_id) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) throw io_error("create", p);
  ::fsetxattr(fd, kClaimAttribute, claim_id.data(), claim_id.size(), 0);  // best effort, see above
  return fd;
}

bool placed_by(const fs::path& p, const std::string& claim_id) {
  char value[32];
  ssize_t n = ::lgetxattr(p.c_str(), kClaimAttribute, value, sizeof value);
  return n == static_cast<ssize_t>(claim_id.size()) && std::string_view(value, claim_id.size()) == claim_id;
}

// "batch.jsonl" -> {"batch", ".jsonl"}; names without a dot have an empty extension.
std::pair<std::string, std::string> split_name(const std::string& name) {
  auto dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return {name, ""};
  return {name.substr(0, dot), name.substr(dot)};
}

constexpr std::string_view kOutcomeSuffix = ".outcome.jsonl";  // the longest suffix a placed name gets

// The base name of a same-name drop's files: the claim id, which is unique, inserted before
// the extension. A long name would push its outcome's name past NAME_MAX, so the stem loses
// bytes from its end (at a character boundary) to make room: placement can never fail on a name.
std::string base_with_claim_id(std::string stem, std::string& ext, const std::string& claim_id) {
  const std::size_t room = kNameMax - kOutcomeSuffix.size() - 1 - claim_id.size();  // for stem + ext
  if (ext.size() >= room / 2) {  // not a real extension: keep it as part of the stem
    stem += ext;
    ext.clear();
  }
  return std::string(utf8_prefix(stem, room - ext.size())) + "." + claim_id;
}

void sync_and_close(int& fd, const fs::path& p) {
  if (fd < 0) return;
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  fd = -1;
  if (rc != 0) {
    errno = saved;
    throw io_error("fsync", p);
  }
}
}  // namespace

FinishedFileWriter::FinishedFileWriter(const SpoolPaths& paths, const ClaimedFile& file)
    : paths_(paths), file_(file) {
  outcome_tmp_ = paths.active / ("." + file.claim_id + ".outcome.tmp");
  retry_tmp_ = paths.active / ("." + file.claim_id + ".retry.tmp");
  outcome_fd_ = open_temp(outcome_tmp_, file.claim_id);
}

FinishedFileWriter::~FinishedFileWriter() {
  if (outcome_fd_ >= 0) {
    ::close(outcome_fd_);
    ::unlink(outcome_tmp_.c_str());
  }
  if (retry_fd_ >= 0) {
    ::close(retry_fd_);
    ::unlink(retry_tmp_.c_str());
  }
  // An adopted held retry file that was not placed (the placement failed) goes back to being
  // held, for the next try. After a placement it is gone from here and this does nothing.
  if (retry_adopted_) ::rename(retry_tmp_.c_str(), held_retry_path(paths_, file_.claim_id).c_str());
}

void FinishedFileWriter::append(int fd, std::string_view text, const fs::path& what) {
  if (!write_all(fd, text)) throw io_error("write", what);
}

void FinishedFileWriter::add_outcome(std::string_view json_line) {
  constexpr std::size_t kWriteAt = 8 * 1024;  // a few dozen lines; memory stays small per file
  pending_outcomes_.append(json_line);
  if (pending_outcomes_.size() >= kWriteAt) write_pending_outcomes();
}

void FinishedFileWriter::write_pending_outcomes() {
  if (pending_outcomes_.empty()) return;
  append(outcome_fd_, pending_outcomes_, outcome_tmp_);
  pending_outcomes_.clear();
}

void FinishedFileWriter::add_failed_request(std::string_view request_text) {
  any_failed_ = true;
  has_retry_lines_ = true;
  if (retry_fd_ < 0) retry_fd_ = open_temp(retry_tmp_, file_.claim_id);
  std::string line(request_text);
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  line.push_back('\n');
  append(retry_fd_, line, retry_tmp_);
}

fs::path FinishedFileWriter::held_outcome_path(const SpoolPaths& paths, const std::string& claim_id) {
  return paths.active / ("." + claim_id + ".outcome.held");
}

fs::path FinishedFileWriter::held_retry_path(const SpoolPaths& paths, const std::string& claim_id) {
  return paths.active / ("." + claim_id + ".retry.held");
}

void FinishedFileWriter::hold() {
  write_pending_outcomes();
  sync_and_close(outcome_fd_, outcome_tmp_);
  sync_and_close(retry_fd_, retry_tmp_);
  // Retry first: a held outcome is what says "held" at recovery, so it must come last.
  if (has_retry_lines_ && ::rename(retry_tmp_.c_str(), held_retry_path(paths_, file_.claim_id).c_str()) != 0) {
    throw io_error("hold", retry_tmp_);
  }
  if (::rename(outcome_tmp_.c_str(), held_outcome_path(paths_, file_.claim_id).c_str()) != 0) {
    throw io_error("hold", outcome_tmp_);
  }
  fsync_dir(paths_.active);
}

void FinishedFileWriter::adopt_held_retry() {
  const fs::path held = held_retry_path(paths_, file_.claim_id);
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(held, ec))) return;
  if (retry_fd_ >= 0) {
    ::close(retry_fd_);
    retry_fd_ = -1;
  }
  if (::rename(held.c_str(), retry_tmp_.c_str()) != 0) throw io_error("adopt", held);
  retry_adopted_ = true;
  any_failed_ = true;
  has_retry_lines_ = true;
}

PlacedNames FinishedFileWriter::finish() {
  PlacedNames names = place_outcome();
  fsync_dir(names.input.parent_path());
  place_input(names);
  fsync_dir(names.input.parent_path());
  fsync_dir(paths_.active);
  return names;
}

void FinishedFileWriter::start_writeback() {
  write_pending_outcomes();
  for (int fd : {outcome_fd_, retry_fd_}) {
    if (fd >= 0) ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  }
}

void FinishedFileWriter::sync_outcome() {
  write_pending_outcomes();
  sync_and_close(outcome_fd_, outcome_tmp_);
  sync_and_close(retry_fd_, retry_tmp_);
}

PlacedNames FinishedFileWriter::place_outcome() {
  sync_outcome();  // nothing left to do when the caller synced already
  if (auto placed = placed_before()) return *placed;
  const fs::path& dest = any_failed_ ? paths_.failed : paths_.done;
  // Try the plain names first; if any is taken (a same-name drop finished earlier), use the
  // claim id, which is unique, inserted before the extension for all three.
  PlacedNames names;
  for (int variant = 0; variant < 2; ++variant) {
    names = names_in(dest, variant);
    std::error_code ec;
    bool taken = fs::exists(fs::symlink_status(names.input, ec)) ||
                 fs::exists(fs::symlink_status(names.outcome, ec)) ||
                 (!names.retry.empty() && fs::exists(fs::symlink_status(names.retry, ec)));
    if (!taken) break;
  }
  // Outcome first, input last: until the input leaves active/, a crash means the file is
  // worked again, and the rework finds this outcome by its claim attribute (placed_before).
  if (auto ec = rename_noreplace(outcome_tmp_, names.outcome)) {
    throw std::system_error(ec, "place outcome " + names.outcome.string());
  }
  place_retry(names);
  return names;
}

void FinishedFileWriter::place_retry(const PlacedNames& names) {
  if (names.retry.empty()) return;
  if (auto ec = rename_noreplace(retry_tmp_, names.retry)) {
    throw std::system_error(ec, "place retry file " + names.retry.string());
  }
}

std::string outcome_file_name(std::string_view placed_name) {
  return std::string(placed_name) + std::string(kOutcomeSuffix);
}

PlacedNames FinishedFileWriter::names_in(const fs::path& dest, int variant) const {
  auto [stem, ext] = split_name(file_.original_name);
  std::string base = variant == 0 ? stem : base_with_claim_id(stem, ext, file_.claim_id);
  PlacedNames names;
  names.input = dest / (base + ext);
  names.outcome = dest / outcome_file_name(base + ext);
  // Only failures that can be retried as written (not an unreadable file) make a retry file.
  names.retry = has_retry_lines_ ? dest / (base + ".retry.jsonl") : fs::path{};
  return names;
}

std::optional<PlacedNames> FinishedFileWriter::placed_before() {
  if (!file_.recovered) return std::nullopt;
  for (const fs::path& dest : {paths_.done, paths_.failed}) {
    for (int variant = 0; variant < 2; ++variant) {
      PlacedNames names = names_in(dest, variant);
      if (!placed_by(names.outcome, file_.claim_id)) continue;
      // Placed by the run that crashed before moving the input: keep that outcome (and its
      // retry file, placing this one only if that run did not get to it).
      ::unlink(outcome_tmp_.c_str());
      if (!names.retry.empty() && !placed_by(names.retry, file_.claim_id)) {
        place_retry(names);
      } else {
        ::unlink(retry_tmp_.c_str());
      }
      return names;
    }
  }
  return std::nullopt;
}

void FinishedFileWriter::place_input(const PlacedNames& names) {
  if (auto ec = rename_noreplace(file_.active_path, names.input)) {
    throw std::system_error(ec, "move input to " + names.input.string());
  }
}

}  // namespace submitd::spool
