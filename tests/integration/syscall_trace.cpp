// Role: the strace reader and the rename/fsync order rules (see syscall_trace.hpp).
#include "syscall_trace.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

namespace submitd::testing {
namespace {

using Kind = TraceEvent::Kind;

// The quoted strings of a line, in order, with strace's escapes for '"' and '\' undone.
std::vector<std::string> quoted_strings(const std::string& line, std::size_t from, std::size_t count) {
  std::vector<std::string> out;
  std::size_t at = from;
  while (out.size() < count) {
    at = line.find('"', at);
    if (at == std::string::npos) break;
    std::string s;
    std::size_t i = at + 1;
    for (; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) ++i;
      s.push_back(line[i]);
    }
    out.push_back(std::move(s));
    at = i + 1;
  }
  return out;
}

// "7</tmp/x/file>" or "9<TCP:[...]>" at the start of the arguments: what the descriptor is.
std::optional<std::string> fd_target(const std::string& line, std::size_t args) {
  std::size_t lt = line.find('<', args);
  std::size_t comma = line.find_first_of(",)", args);
  if (lt == std::string::npos || lt > comma || lt + 1 >= line.size()) return std::nullopt;
  std::size_t gt = line.find('>', lt);
  if (gt == std::string::npos) return std::nullopt;
  return line.substr(lt + 1, gt - lt - 1);
}

bool is_socket(const std::string& target) {
  return target.starts_with("TCP") || target.starts_with("UDP") || target.starts_with("UNIX");
}

std::string parent_of(const std::string& path) { return std::filesystem::path(path).parent_path().string(); }
std::string name_of(const std::string& path) { return std::filesystem::path(path).filename().string(); }
bool is_journal(const std::string& path) { return path.ends_with(".sqlite-wal") || path.ends_with(".sqlite"); }

// A claimed input placed in active/: "<16 hex claim id>." or "~" and a name, not hidden.
std::optional<std::string> claim_id_of(const TraceEvent& e) {
  if (e.kind != Kind::rename || name_of(parent_of(e.to)) != "active") return std::nullopt;
  const std::string name = name_of(e.to);
  if (name.size() < 18 || (name[16] != '.' && name[16] != '~')) return std::nullopt;
  const std::string id = name.substr(0, 16);
  if (!std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return std::nullopt;
  }
  return id;
}

// The directories a rename must have synced before a dependent step: the target's, and the
// source's unless the source was a hidden temporary (losing its removal only leaves a
// temporary that recovery deletes).
std::vector<std::string> dirs_owed(const TraceEvent& rename) {
  std::vector<std::string> dirs{parent_of(rename.to)};
  if (!name_of(rename.path).starts_with(".") && parent_of(rename.path) != dirs.front()) {
    dirs.push_back(parent_of(rename.path));
  }
  return dirs;
}

bool synced_between(const std::vector<TraceEvent>& events, const std::string& dir, std::size_t from, std::size_t to) {
  for (std::size_t j = from + 1; j < to && j < events.size(); ++j) {
    if (events[j].kind == Kind::sync && events[j].path == dir) return true;
  }
  return false;
}

std::string describe(const TraceEvent& e) { return e.path + " -> " + e.to; }

// Whether `step`, by the thread that made the earlier `rename`, relies on that rename being on
// disk: telling someone (a socket write), the journal, or moving an input out of active/ after
// an outcome (or retry) file was placed from a hidden temporary. (Inputs moved one after the
// other, each after its own outcome, do not rely on one another: a group commit moves them
// all, then syncs.)
bool depends_on(const TraceEvent& step, const TraceEvent& rename) {
  if (step.kind == Kind::send) return true;
  if (step.kind == Kind::write) return is_journal(step.path);
  return step.kind == Kind::rename && name_of(parent_of(step.path)) == "active" &&
         !name_of(step.path).starts_with(".") && name_of(rename.path).starts_with(".");
}

void check_file_rule(const std::vector<TraceEvent>& events, std::vector<std::string>& problems) {
  std::map<std::string, std::size_t> last_write, last_sync;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const TraceEvent& e = events[i];
    if (e.kind == Kind::write) last_write[e.path] = i;
    if (e.kind == Kind::sync) last_sync[e.path] = i;
    if (e.kind != Kind::rename) continue;
    if (e.path.empty() || e.path[0] != '/' || e.to.empty() || e.to[0] != '/') {
      problems.push_back("rename with a relative path, cannot be checked: " + describe(e));
      continue;
    }
    auto written = last_write.find(e.path);
    if (written == last_write.end()) continue;
    auto synced = last_sync.find(e.path);
    if (synced == last_sync.end() || synced->second < written->second) {
      problems.push_back("renamed without an fsync after its last write: " + describe(e));
    }
    last_write.erase(written);  // the name now belongs to another file
  }
}

void check_directory_rules(const std::vector<TraceEvent>& events, std::vector<std::string>& problems) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    const TraceEvent& e = events[i];
    if (e.kind != Kind::rename) continue;
    std::vector<std::string> dirs{parent_of(e.to)};
    if (parent_of(e.path) != dirs.front()) dirs.push_back(parent_of(e.path));
    for (const std::string& dir : dirs) {
      if (!synced_between(events, dir, i, events.size())) {
        problems.push_back("directory " + dir + " not fsynced after the rename " + describe(e));
      }
    }
    // The same thread's next dependent step must find this rename durable.
    for (std::size_t j = i + 1; j < events.size(); ++j) {
      if (events[j].thread != e.thread || !depends_on(events[j], e)) continue;
      for (const std::string& dir : dirs_owed(e)) {
        if (!synced_between(events, dir, i, j)) {
          problems.push_back("directory " + dir + " not fsynced before the step after the rename " + describe(e) +
                             " (" + (events[j].kind == Kind::send ? "a socket write" : events[j].path) + ")");
        }
      }
      break;
    }
  }
}

int check_claims_before_journal(const std::vector<TraceEvent>& events, std::vector<std::string>& problems) {
  int journaled = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto id = claim_id_of(events[i]);
    if (!id) continue;
    for (std::size_t j = i + 1; j < events.size(); ++j) {
      const TraceEvent& w = events[j];
      if (w.kind != Kind::write || !is_journal(w.path) || w.data.find(*id) == std::string::npos) continue;
      ++journaled;
      for (const std::string& dir : dirs_owed(events[i])) {
        if (!synced_between(events, dir, i, j)) {
          problems.push_back("claim " + *id + " journaled before " + dir + " was fsynced after " + describe(events[i]));
        }
      }
      break;
    }
  }
  return journaled;
}

}  // namespace

std::vector<TraceEvent> parse_thread_trace(std::istream& in, int thread) {
  std::vector<TraceEvent> events;
  std::string line;
  while (std::getline(in, line)) {
    double at = 0;
    std::size_t start = 0;
    if (!line.empty() && line[0] >= '0' && line[0] <= '9') {  // "-ttt": "1733356800.123456 call(...)"
      char* end = nullptr;
      at = std::strtod(line.c_str(), &end);
      start = static_cast<std::size_t>(end - line.c_str());
      while (start < line.size() && line[start] == ' ') ++start;
    }
    std::size_t paren = line.find('(', start);
    std::size_t result = line.rfind(") = ");
    if (paren == std::string::npos || result == std::string::npos) continue;
    if (line.compare(result + 4, 2, "-1") == 0) continue;  // failed calls change nothing
    const std::string name = line.substr(start, paren - start);
    auto target = fd_target(line, paren);
    if (name == "write" || name == "pwrite64" || name == "writev" || name == "pwritev" || name == "sendmsg" ||
        name == "sendto" || name == "sendmmsg") {
      if (target && is_socket(*target)) {
        events.push_back({Kind::send, *target, {}, {}, at, thread});
      } else if (target && target->starts_with("/") && !name.starts_with("send")) {
        auto data = quoted_strings(line, paren, 1);
        events.push_back({Kind::write, *target, {}, data.empty() ? std::string() : data[0], at, thread});
      }
    } else if (name == "fsync" || name == "fdatasync") {
      if (target && target->starts_with("/")) events.push_back({Kind::sync, *target, {}, {}, at, thread});
    } else if (name == "rename" || name == "renameat" || name == "renameat2") {
      auto paths = quoted_strings(line, paren, 2);
      if (paths.size() == 2) events.push_back({Kind::rename, paths[0], paths[1], {}, at, thread});
    }
  }
  return events;
}

std::vector<TraceEvent> merge_timelines(std::vector<std::vector<TraceEvent>> threads) {
  std::vector<TraceEvent> all;
  for (auto& t : threads) all.insert(all.end(), std::make_move_iterator(t.begin()), std::make_move_iterator(t.end()));
  std::stable_sort(all.begin(), all.end(), [](const TraceEvent& a, const TraceEvent& b) { return a.at < b.at; });
  return all;
}

DurabilityCheck check_durability(const std::vector<TraceEvent>& events) {
  DurabilityCheck check;
  check_file_rule(events, check.problems);
  check_directory_rules(events, check.problems);
  check.claims_journaled = check_claims_before_journal(events, check.problems);
  return check;
}

}  // namespace submitd::testing
