// Role: what an operator asked of single files, kept across restarts: files on hold (none of
// their requests is sent to the API until release) and files cancelled (every request not yet
// run ends failed with stage "cancelled"; with abort_running, their started jobs are aborted
// too). Keyed by claim id. Stored whole in one small text file in the state directory
// (written durably on every change: operator actions are rare), one "<verb> <claim id>" per
// line. Plain logic and file I/O: no Asio.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace submitd::submit {

enum class FileControl { hold, cancel, cancel_and_abort };

class FileControls {
 public:
  // An empty path keeps the controls in memory only (tests of other parts).
  explicit FileControls(std::filesystem::path file = {}) : file_(std::move(file)) {}

  // Reads the file (absent: nothing controlled). Lines it cannot read are skipped and
  // returned, for the log: a damaged line must not stop the daemon.
  std::vector<std::string> load();

  bool held(const std::string& claim_id) const { return find(claim_id) == FileControl::hold; }
  bool cancelled(const std::string& claim_id) const {
    auto c = find(claim_id);
    return c == FileControl::cancel || c == FileControl::cancel_and_abort;
  }
  bool aborts_running(const std::string& claim_id) const { return find(claim_id) == FileControl::cancel_and_abort; }
  bool any() const { return !controls_.empty(); }

  // Each change is durable when it returns; throws std::system_error (and changes nothing)
  // when the file cannot be written. A cancel replaces a hold.
  void hold(const std::string& claim_id) { set(claim_id, FileControl::hold); }
  void cancel(const std::string& claim_id, bool abort_running) {
    set(claim_id, abort_running ? FileControl::cancel_and_abort : FileControl::cancel);
  }
  // Ends a hold (a cancel stays).
  void release(const std::string& claim_id);
  // The file was placed: its control ends with it.
  void forget(const std::string& claim_id);
  // At start: controls of claims no longer in active/ are dropped.
  void keep_only(const std::vector<std::string>& live_claims);

 private:
  std::optional<FileControl> find(const std::string& claim_id) const;
  void set(const std::string& claim_id, FileControl control);
  void erase(const std::string& claim_id);
  void store(const std::map<std::string, FileControl>& controls) const;

  std::filesystem::path file_;
  std::map<std::string, FileControl> controls_;
};

}  // namespace submitd::submit
