// Role: the strace reader and the rename/fsync order rules (see syscall_trace.hpp).
#include "syscall_trace.hpp"

#include <filesystem>
#include <map>
#include <optional>

namespace submitd::testing {
namespace {

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

// "7</tmp/x/file>" at the start of the arguments: the path, when the descriptor names one.
std::optional<std::string> fd_path(const std::string& line, std::size_t args) {
  std::size_t lt = line.find('<', args);
  std::size_t comma = line.find_first_of(",)", args);
  if (lt == std::string::npos || lt > comma || lt + 1 >= line.size() || line[lt + 1] != '/') return std::nullopt;
  std::size_t gt = line.find('>', lt);
  if (gt == std::string::npos) return std::nullopt;
  return line.substr(lt + 1, gt - lt - 1);
}

std::string parent_of(const std::string& path) {
  return std::filesystem::path(path).parent_path().string();
}

}  // namespace

std::vector<TraceEvent> parse_thread_trace(std::istream& in) {
  std::vector<TraceEvent> events;
  std::string line;
  while (std::getline(in, line)) {
    std::size_t paren = line.find('(');
    std::size_t result = line.rfind(") = ");
    if (paren == std::string::npos || result == std::string::npos) continue;
    if (line.compare(result + 4, 2, "-1") == 0) continue;  // failed calls change nothing
    const std::string name = line.substr(0, paren);
    using Kind = TraceEvent::Kind;
    if (name == "write" || name == "pwrite64" || name == "writev" || name == "pwritev") {
      if (auto p = fd_path(line, paren)) events.push_back({Kind::write, *p, {}});
    } else if (name == "fsync" || name == "fdatasync") {
      if (auto p = fd_path(line, paren)) events.push_back({Kind::sync, *p, {}});
    } else if (name == "rename" || name == "renameat" || name == "renameat2") {
      auto paths = quoted_strings(line, paren, 2);
      if (paths.size() == 2) events.push_back({Kind::rename, paths[0], paths[1]});
    }
  }
  return events;
}

std::vector<std::string> durability_problems(const std::vector<TraceEvent>& events) {
  std::vector<std::string> problems;
  std::map<std::string, std::size_t> last_write, last_sync;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const TraceEvent& e = events[i];
    switch (e.kind) {
      case TraceEvent::Kind::write:
        last_write[e.path] = i;
        break;
      case TraceEvent::Kind::sync:
        last_sync[e.path] = i;
        break;
      case TraceEvent::Kind::rename: {
        if (e.path.empty() || e.path[0] != '/' || e.to.empty() || e.to[0] != '/') {
          problems.push_back("rename with a relative path, cannot be checked: " + e.path + " -> " + e.to);
          break;
        }
        auto written = last_write.find(e.path);
        if (written != last_write.end()) {
          auto synced = last_sync.find(e.path);
          if (synced == last_sync.end() || synced->second < written->second) {
            problems.push_back("renamed without an fsync after its last write: " + e.path + " -> " + e.to);
          }
          last_write.erase(written);  // the name now belongs to another file
        }
        // Both directory entries must reach the disk: the target's and the source's.
        std::vector<std::string> dirs{parent_of(e.to)};
        if (parent_of(e.path) != dirs.front()) dirs.push_back(parent_of(e.path));
        for (const std::string& dir : dirs) {
          bool synced_after = false;
          for (std::size_t j = i + 1; j < events.size() && !synced_after; ++j) {
            synced_after = events[j].kind == TraceEvent::Kind::sync && events[j].path == dir;
          }
          if (!synced_after) problems.push_back("directory " + dir + " not fsynced after the rename " + e.path + " -> " + e.to);
        }
        break;
      }
    }
  }
  return problems;
}

}  // namespace submitd::testing
