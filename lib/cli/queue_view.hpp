// Role: `bytenite-submit queue` for people: the daemon's GET /v1/queue answer (JSON) as a
// table, one file per line, and a closing line with the totals and the soonest retry. Plain
// text in, text out, so tests read it without a daemon.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace submitd::cli {

// nullopt when `json` is not a queue report.
std::optional<std::string> queue_table(std::string_view json);

// "12s", "3m05s", "2h10m", "3d4h": an age at a glance.
std::string short_duration(double seconds);

}  // namespace submitd::cli
