// Role: reads a small regular file (the config file, the API key file) whole, refusing
// anything else: a directory, a device, or a file far larger than such a file can be (a
// wrong path). Callers turn the reason into their own message; the content is never in it.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace submitd::config {

struct SmallFileRead {
  std::string text;
  std::string error;       // empty on success: an OS reason or "not a regular file"
  bool too_large = false;  // over max_bytes (error is set too)
  bool ok() const { return error.empty(); }
};

SmallFileRead read_small_regular_file(const std::filesystem::path& path, std::size_t max_bytes);

}  // namespace submitd::config
