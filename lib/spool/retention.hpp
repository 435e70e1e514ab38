// Role: keeps done/ from growing without bound: deletes the inputs and outcome files there
// whose modification time is older than the retention (spool.done_retention_days). Only
// done/ (failed/ waits for a person), only regular files and symlinks, never following one.
#pragma once

#include <cstddef>

#include "spool/spool_paths.hpp"
#include "util/clock.hpp"

namespace submitd::spool {

// Deletes entries of done/ last modified before `cutoff`; returns how many. Errors on single
// entries are skipped (tried again next time); a done/ that cannot be read throws.
std::size_t prune_done(const SpoolPaths& paths, WallTime cutoff);

}  // namespace submitd::spool
