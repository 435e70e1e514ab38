// Role: the queue report's words and the incoming/ listing (see queue_report.hpp).
#include "spool/queue_report.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include "spool/claim.hpp"

namespace submitd::spool {

std::string_view queued_file_state_name(QueuedFileState s) {
  switch (s) {
    case QueuedFileState::incoming: return "incoming";
    case QueuedFileState::held: return "held";
    case QueuedFileState::working: return "working";
    case QueuedFileState::cancelling: return "cancelling";
    case QueuedFileState::following: return "following";
  }
  return "incoming";
}

QueuedFile queued_file(const ClaimedFile& file, QueuedFileState state) {
  QueuedFile f;
  f.claim_id = file.claim_id;
  f.name = file.original_name;
  f.state = state;
  f.arrived = file.arrived;
  return f;
}

std::size_t list_incoming(const SpoolPaths& paths, std::size_t limit, std::vector<QueuedFile>& out) {
  IncomingScan scan = scan_incoming(paths, limit);
  for (auto& name : scan.oldest) {
    struct stat st {};
    if (::fstatat(AT_FDCWD, (paths.incoming / name).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // claimed meanwhile
    QueuedFile f;
    f.name = std::move(name);
    f.bytes = static_cast<std::uint64_t>(st.st_size);
    // Arrival is the inode's change time: the rename into incoming/ sets it (see scan_incoming).
    f.arrived = WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::seconds(st.st_ctim.tv_sec) +
                                                                        std::chrono::nanoseconds(st.st_ctim.tv_nsec)));
    out.push_back(std::move(f));
  }
  return scan.files;
}

}  // namespace submitd::spool
