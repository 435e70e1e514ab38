// Role: the spool's layout (tmp/ incoming/ active/ done/ failed/ and the state directory) and
// its creation with the access modes of the contract: producers share a group, so tmp/ and
// incoming/ are group-writable and setgid; outcome files are 0640.
#pragma once

#include <filesystem>

namespace submitd::spool {

struct SpoolPaths {
  std::filesystem::path root, tmp, incoming, active, done, failed, state;
};

SpoolPaths make_spool_paths(const std::filesystem::path& root, const std::filesystem::path& state);

// Creates missing directories (existing ones are left as they are). Throws
// std::filesystem::filesystem_error naming the directory on failure.
void ensure_spool_layout(const SpoolPaths& paths);

}  // namespace submitd::spool
