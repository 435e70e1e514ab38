// Role: the process's open-file limit (RLIMIT_NOFILE). At start the soft limit is raised to
// the hard one, as is common for servers: the soft 1024 only protects programs that use
// select(), and the daemon uses none. What is in effect then bounds the control socket's
// connection cap (settings_of_config.hpp).
#pragma once

#include <cstdint>
#include <string>

namespace submitd {

struct DescriptorLimit {
  std::uint64_t before = 0;  // the soft limit found at start
  std::uint64_t now = 0;     // the soft limit in effect
  std::string failure;       // why raising it failed; empty when it did not fail
};

// Raises the soft limit if it can. A failure (a seccomp filter, say) leaves the limit as it
// was: the daemon runs on, with the control socket's cap bounded by it.
DescriptorLimit raise_descriptor_limit();

}  // namespace submitd
