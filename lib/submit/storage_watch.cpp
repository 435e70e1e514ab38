// Role: full-disk spells (see storage_watch.hpp).
#include "submit/storage_watch.hpp"

#include <algorithm>
#include <system_error>

#include "util/log.hpp"

namespace submitd::submit {

StorageWatch::StorageWatch(const spool::SpoolPaths& paths, StorageSettings settings, journal::Journal& journal,
                           const Clock& clock, SubmitEvents& events, WaitLine& space_back)
    : paths_(paths),
      settings_(settings),
      journal_(journal),
      clock_(clock),
      events_(events),
      space_back_(space_back),
      guard_(settings.min_free_bytes, settings.probe_interval) {}

void StorageWatch::spell_started() {
  log::error("disk full ({}): no new work is claimed; accepted work is kept and goes on, and "
             "claiming starts again by itself once space is back",
             guard_.reason());
  events_.storage_changed(true);
}

bool StorageWatch::note_write_failure(std::string_view what, const std::exception& e) {
  if (!spool::is_out_of_space(e)) return false;
  const auto& code = dynamic_cast<const std::system_error&>(e).code();
  if (guard_.on_write_failure(what, code, clock_.now())) spell_started();
  return true;
}

bool StorageWatch::allows_new_work() {
  const MonoTime now = clock_.now();
  // The smallest free space of the two file systems written to (often the same one).
  auto least_free = [&] {
    return std::min(spool::free_bytes(paths_.active.string()), spool::free_bytes(paths_.state.string()));
  };
  try {
    if (guard_.full()) {
      if (guard_.probe_due(now)) {
        const auto journal = journal_.stats();
        const bool write_ok = spool::probe_write(paths_.active.string()) &&
                              spool::probe_write(paths_.state.string()) && !(journal.stalled && journal.disk_full);
        if (guard_.on_probe(least_free(), write_ok, now)) {
          log::info("disk space is back: claiming new work again");
          events_.storage_changed(false);
          space_back_.wake_all();  // files parked for space are worked again
        }
      }
    } else if (now - last_check_ >= std::chrono::milliseconds(500)) {
      // At most twice a second: this runs whenever any request finishes.
      last_check_ = now;
      const auto journal = journal_.stats();
      if (journal.stalled && journal.disk_full) {
        guard_.on_write_failure("journal commit", std::make_error_code(std::errc::no_space_on_device), now);
        spell_started();
      } else if (settings_.min_free_bytes > 0 && guard_.on_free_space(least_free(), now)) {
        spell_started();
      }
    }
  } catch (const std::exception& e) {
    if (auto skipped = error_log_.allow(now)) {
      log::error("cannot look at free disk space: {}{}", e.what(), log::Limiter::note(*skipped));
    }
  }
  return !guard_.full();
}

}  // namespace submitd::submit
