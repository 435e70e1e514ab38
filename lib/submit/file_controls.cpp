// Role: file controls and their state file (see file_controls.hpp).
#include "submit/file_controls.hpp"

#include <fstream>
#include <sstream>

#include "spool/claim.hpp"
#include "util/durable_fs.hpp"

namespace submitd::submit {

namespace {

constexpr std::string_view verb_of(FileControl c) {
  switch (c) {
    case FileControl::hold: return "hold";
    case FileControl::cancel: return "cancel";
    case FileControl::cancel_and_abort: return "cancel-abort-running";
  }
  return "hold";
}

std::optional<FileControl> control_of(std::string_view verb) {
  for (auto c : {FileControl::hold, FileControl::cancel, FileControl::cancel_and_abort}) {
    if (verb == verb_of(c)) return c;
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::string> FileControls::load() {
  controls_.clear();
  std::vector<std::string> unreadable;
  if (file_.empty()) return unreadable;
  std::ifstream in(file_);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.find(' ');
    const std::string claim = space == std::string::npos ? "" : line.substr(space + 1);
    auto control = control_of(std::string_view(line).substr(0, space));
    if (!control || !spool::is_claim_id(claim)) {
      unreadable.push_back(line.substr(0, 80));
      continue;
    }
    controls_[claim] = *control;
  }
  return unreadable;
}

std::optional<FileControl> FileControls::find(const std::string& claim_id) const {
  auto it = controls_.find(claim_id);
  if (it == controls_.end()) return std::nullopt;
  return it->second;
}

void FileControls::set(const std::string& claim_id, FileControl control) {
  auto next = controls_;
  next[claim_id] = control;
  store(next);
  controls_ = std::move(next);
}

void FileControls::release(const std::string& claim_id) {
  if (held(claim_id)) erase(claim_id);
}

void FileControls::forget(const std::string& claim_id) {
  if (controls_.count(claim_id)) erase(claim_id);
}

void FileControls::erase(const std::string& claim_id) {
  auto next = controls_;
  next.erase(claim_id);
  store(next);
  controls_ = std::move(next);
}

void FileControls::keep_only(const std::vector<std::string>& live_claims) {
  std::map<std::string, FileControl> next;
  for (const auto& claim : live_claims) {
    if (auto c = find(claim)) next[claim] = *c;
  }
  if (next.size() == controls_.size()) return;
  store(next);
  controls_ = std::move(next);
}

void FileControls::store(const std::map<std::string, FileControl>& controls) const {
  if (file_.empty()) return;
  std::ostringstream out;
  out << "# bytenite-submitd: files held or cancelled (bytenite-submit hold/cancel); one per line\n";
  for (const auto& [claim, control] : controls) out << verb_of(control) << ' ' << claim << '\n';
  write_file_durably(file_, out.str(), 0640);
}

}  // namespace submitd::submit
