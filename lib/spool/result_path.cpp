// Role: a result's place under the download directory (see result_path.hpp).
#include "spool/result_path.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace submitd::spool {
namespace {

constexpr std::size_t kMaxSegment = 255;  // NAME_MAX
constexpr std::size_t kMaxName = 1024;

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

std::variant<std::filesystem::path, std::string> result_path(std::string_view request_id, std::string_view name) {
  if (request_id.empty() || request_id == "." || request_id == ".." || request_id.find('/') != std::string_view::npos ||
      has_control(request_id)) {
    return std::string("the requestId cannot name a directory for its results");
  }
  if (name.empty()) return std::string("the result has no name");
  if (name.size() > kMaxName) return fmt::format("the result's name is longer than {} bytes", kMaxName);
  if (has_control(name)) return std::string("the result's name holds a control character");
  if (name.front() == '/') return std::string("the result's name is an absolute path");
  std::filesystem::path out(request_id);
  bool any = false;
  for (std::size_t start = 0; start <= name.size();) {
    const std::size_t end = std::min(name.find('/', start), name.size());
    const std::string_view part = name.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return std::string("the result's name leads out of its directory (\"..\")");
    if (part.size() > kMaxSegment) return fmt::format("a part of the result's name is longer than {} bytes", kMaxSegment);
    out /= std::string(part);
    any = true;
  }
  if (!any) return std::string("the result's name has no file name in it");
  return out;
}

}  // namespace submitd::spool
