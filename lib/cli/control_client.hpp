// Role: bytenite-submit's side of the control socket: one HTTP/1.1 request per connection
// over a Unix stream socket, blocking, with a deadline; the answer's status and body.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace submitd::cli {

struct ControlReply {
  int status = 0;      // 0: no answer (see error)
  std::string body;
  std::string error;   // why there was no answer
};

ControlReply control_request(const std::filesystem::path& socket, const std::string& method,
                             const std::string& target, const std::string& body,
                             std::chrono::seconds timeout = std::chrono::seconds(60));

}  // namespace submitd::cli
