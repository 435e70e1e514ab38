// ApiRequest / ApiResponse: the HTTP-free shape of one exchange between the HTTPS layer and
// the Emulator. The server fills an ApiRequest from a Beast request and carries out the
// ApiResponse (answer, delay, or drop the connection), so all decisions stay testable.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace emulator {

struct ApiRequest {
  std::string_view method;         // "GET", "POST", ...
  std::string_view target;         // origin-form: path and optional ?query
  std::string_view authorization;  // the Authorization header, empty when absent
  std::string_view body;
  bool from_loopback = true;  // test hooks answer loopback peers only
};

enum class Disposition {
  respond,           // send the answer (after `delay`)
  reset_before,      // drop the connection at once; nothing was done
  reset_after_work,  // the work was done; drop the connection instead of answering
};

struct ApiResponse {
  int status = 200;
  std::string body;  // JSON
  std::optional<int> retry_after_s;
  Disposition disposition = Disposition::respond;
  std::chrono::milliseconds delay{0};
  bool interim_103 = false;  // precede the answer with "HTTP/1.1 103 Early Hints"
};

}  // namespace emulator
