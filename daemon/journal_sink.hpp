// Role: the daemon's log under systemd: when its stderr is the journal's stream (systemd sets
// JOURNAL_STREAM to that stream's "<device>:<inode>"), lines go to journald through its
// native protocol (sd_journal_sendv) with their fields as journal fields: MESSAGE, PRIORITY,
// MESSAGE_ID, REQUEST_ID, JOB_ID, CLAIM_ID, STAGE, HTTP_STATUS. Elsewhere the text sink stays.
#pragma once

#include <sys/types.h>

#include <string_view>

#include "util/log.hpp"

namespace submitd {

// Whether `journal_stream` ("<device>:<inode>", decimal) names the file with this device and
// inode. Anything else (empty, malformed) is not the journal.
bool names_stream(std::string_view journal_stream, dev_t device, ino_t inode);

// Installs the journal sink when $JOURNAL_STREAM names stderr; returns whether it did.
bool use_journal_if_stderr_is_journal();

// The sink itself: one sd_journal_sendv per line; when the journal refuses it, the line goes
// to the text sink instead (never lost silently).
void journal_sink(log::Level level, std::string_view message, const log::Fields& fields);

}  // namespace submitd
