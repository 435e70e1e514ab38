// Role: the blocking control-socket client (see control_client.hpp).
#include "cli/control_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "util/unique_fd.hpp"

namespace submitd::cli {
namespace {

// Returns 0, or the errno that stopped the writing. MSG_NOSIGNAL: the daemon may answer and
// close before the whole request is written (a 503 at its connection cap), which must not
// end this program with SIGPIPE; its answer is still there to read.
int send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

}  // namespace

ControlReply control_request(const std::filesystem::path& socket, const std::string& method,
                             const std::string& target, const std::string& body, std::chrono::seconds timeout) {
  ControlReply reply;
  sockaddr_un addr{};
  if (socket.native().size() >= sizeof(addr.sun_path)) {
    reply.error = "socket path too long: " + socket.string();
    return reply;
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    reply.error = std::string("socket: ") + std::strerror(errno);
    return reply;
  }
  timeval tv{static_cast<time_t>(timeout.count()), 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket.c_str(), socket.native().size());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    reply.error = "cannot connect to " + socket.string() + ": " + std::strerror(errno) + " (is the daemon running?)";
    return reply;
  }
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" +
                        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\n\r\n" + body;
  const int send_error = send_all(fd.get(), request);
  if (send_error != 0 && send_error != EPIPE && send_error != ECONNRESET) {
    reply.error = std::string("sending failed: ") + std::strerror(send_error);
    return reply;
  }
  std::string response;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ECONNRESET && !response.empty()) break;  // answered, then closed
    if (n < 0) {
      reply.error = std::string("no answer: ") + std::strerror(errno);
      return reply;
    }
    if (n == 0) break;
    response.append(buf, static_cast<std::size_t>(n));
  }
  if (response.empty() && send_error != 0) {
    reply.error = std::string("sending failed: ") + std::strerror(send_error);
    return reply;
  }
  if (response.rfind("HTTP/1.1 ", 0) != 0) {
    reply.error = "the answer is not HTTP";
    return reply;
  }
  reply.status = std::atoi(response.c_str() + 9);
  auto head_end = response.find("\r\n\r\n");
  if (head_end != std::string::npos) reply.body = response.substr(head_end + 4);
  return reply;
}

}  // namespace submitd::cli
