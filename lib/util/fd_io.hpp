// Role: the one "write everything" loop over a file descriptor (short writes and EINTR
// handled), shared by every place that writes a file or a socket by hand.
#pragma once

#include <string_view>

namespace submitd {

// Writes all of `data` to `fd`. False on failure, with errno saying why (a write that makes
// no progress reports EIO).
bool write_all(int fd, std::string_view data);

}  // namespace submitd
