// Role: `bytenite-submit submit` without a control socket: the producer's side of the spool
// contract. The content is written into tmp/ under a hidden name, fsynced, and renamed into
// incoming/ (never replacing a file there), then incoming/ is fsynced: a file in incoming/ is
// always complete and survives power loss once this returns.
#pragma once

#include <filesystem>
#include <string>

namespace submitd::cli {

// Copies everything readable from `source_fd` (a file, or standard input), streaming, into
// `spool` as `name` (.json or .jsonl). When incoming/ already has that name, a random tag is
// inserted before the extension. Returns the name used. Throws std::system_error (or
// std::invalid_argument for a bad name) on failure, leaving nothing behind in incoming/.
std::string drop_into_spool(const std::filesystem::path& spool, const std::string& name, int source_fd);

}  // namespace submitd::cli
