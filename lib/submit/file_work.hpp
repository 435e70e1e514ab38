// Role: what the spool service keeps per file being worked (inside lib/submit only): the
// outcome slot of each request in input order, and the file's writer and input. Shared by
// the file reader (file_work.cpp) and the per-request runner (request_run.cpp).
#pragma once

#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <string>

#include "spool/finished_file.hpp"
#include "spool/outcome.hpp"
#include "submit/spool_service.hpp"
#include "util/unique_fd.hpp"

namespace submitd::submit {

// Logs what escaped a spawned coroutine (nothing may escape silently).
void log_escape(std::exception_ptr e, const char* what);

// One slot per request of a file, in input order; written out once it and all before it
// are done, so the outcome file is in input order with a bounded buffer.
struct Slot {
  spool::OutcomeRecord record;
  std::string stored_line;  // the outcome line (journaled); used as is
  // Where the request's text is in the input, for the retry file if it fails: read back
  // then, so memory does not hold the text of every request in flight. Length 0: none.
  std::uint64_t text_offset = 0;
  std::uint64_t text_length = 0;
  bool done = false;
  bool interrupted = false;
};

struct SpoolService::FileWork {
  spool::ClaimedFile file;
  spool::FinishedFileWriter writer;
  UniqueFd input;  // the claimed file, open while it is worked
  std::deque<std::shared_ptr<Slot>> window;
  WallTime accepted_wall;
  MonoTime accepted_mono;
  std::size_t submitted = 0, failed = 0, running = 0;
  std::size_t jobs_run = 0;  // outcomes with status submitted: jobs that may be followed
  bool interrupted = false;
  // An outcome write failed for lack of space: the partial outcome is thrown away and the
  // whole file is worked again from the journal once space is back (nothing is sent twice).
  bool storage_failed = false;

  FileWork(const spool::SpoolPaths& paths, spool::ClaimedFile f)
      : file(std::move(f)), writer(paths, file) {}

  void flush() {
    if (storage_failed) return;  // the outcome file is redone as a whole
    while (!window.empty() && window.front()->done) {
      auto& slot = *window.front();
      if (slot.interrupted) {
        interrupted = true;
      } else {
        writer.add_outcome(slot.stored_line.empty() ? spool::outcome_json_line(slot.record)
                                                    : slot.stored_line);
        if (slot.record.status == spool::SubmitStatus::failed) {
          if (slot.text_length > 0) {
            writer.add_failed_request(read_input(slot.text_offset, slot.text_length));
          } else {
            writer.note_failure();
          }
          ++failed;
        } else {
          ++submitted;
          if (slot.record.status == spool::SubmitStatus::submitted) ++jobs_run;
        }
      }
      window.pop_front();
    }
  }

  std::string read_input(std::uint64_t offset, std::uint64_t length) const {
    std::string text(static_cast<std::size_t>(length), '\0');
    ssize_t n = ::pread(input.get(), text.data(), text.size(), static_cast<off_t>(offset));
    if (n != static_cast<ssize_t>(length)) {
      throw std::runtime_error("cannot read back a failed request for the retry file: " +
                               std::string(n < 0 ? std::strerror(errno) : "the input is shorter than before"));
    }
    return text;
  }
};


}  // namespace submitd::submit
