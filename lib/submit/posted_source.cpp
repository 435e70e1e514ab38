// Role: the control socket as a request source (see posted_source.hpp).
#include "submit/posted_source.hpp"

#include <system_error>

#include "util/durable_fs.hpp"

namespace submitd::submit {

std::string PostedSource::accept(const std::string& content, const std::string& name) {
  if (storage_.full()) {
    throw std::system_error(std::make_error_code(std::errc::no_space_on_device),
                            "the disk is full (" + storage_.reason() + "); try again later");
  }
  spool::ClaimedFile file;
  file.claim_id = spool::new_claim_id();
  file.original_name = name;
  file.kind = spool::InputKind::jsonl;
  file.active_path = paths_.active / (file.claim_id + "." + name);
  // The same discipline as a producer's drop, but straight into active/ under our claim.
  try {
    write_file_durably(file.active_path, content, 0640);
  } catch (const std::exception& e) {
    storage_.note_write_failure("store a posted file", e);
    throw;
  }
  if (on_stored_) on_stored_();
  std::string claim_id = file.claim_id;
  intake_.start(std::move(file));
  return claim_id;
}

}  // namespace submitd::submit
