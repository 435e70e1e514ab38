// Role: the control socket's connection limits (see connection_limit.hpp).
#include "control/connection_limit.hpp"

#include <algorithm>

#include "control/control_api.hpp"

namespace submitd::control {

ConnectionCap connection_cap(std::size_t configured, std::uint64_t descriptor_limit, std::uint64_t reserve) {
  const std::uint64_t left = descriptor_limit > reserve ? descriptor_limit - reserve : 0;
  const std::uint64_t bound = std::max<std::uint64_t>(left, kMinConnectionCap);
  if (configured <= bound) return {configured, false};
  return {static_cast<std::size_t>(bound), true};
}

std::string busy_response(std::size_t cap) {
  const std::string body = error_json("the control socket is serving its limit of " + std::to_string(cap) +
                                      " connections; try again shortly");
  // Connection: close because the connection is closed right after this is written: its
  // request (if any has come) is not read, so keeping it open would hold a descriptor.
  return "HTTP/1.1 503 Service Unavailable\r\n"
         "Server: bytenite-submitd/" SUBMITD_VERSION "\r\n"
         "Content-Type: application/json\r\n"
         "Retry-After: " + std::to_string(kBusyRetryAfterSeconds) + "\r\n"
         "Connection: close\r\n"
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::optional<std::uint64_t> AcceptTrouble::failed(MonoTime now) {
  ++failures_;
  return limiter_.allow(now);
}

std::optional<std::uint64_t> AcceptTrouble::succeeded() {
  if (failures_ == 0) return std::nullopt;
  std::uint64_t spell = failures_;
  failures_ = 0;
  // A fresh limiter: the next spell's first failure is logged whenever it comes.
  limiter_ = log::Limiter(repeat_);
  return spell;
}

}  // namespace submitd::control
