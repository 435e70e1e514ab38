// Role: the plain data that crosses between the API logic and the HTTPS transport: which
// ByteNite endpoint a call is for, what to send, and what came back (a response, or which kind
// of transport failure stopped it). No Asio here, so policy code and tests can use it freely.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace submitd::api {

// The ByteNite endpoints the daemon calls; also the `endpoint` label of the http_* metrics.
// `upload` is the PUT of an input to its job's tempUrl (the storage host, not the API's);
// `upload_completed` the API call that says it is done; `download` the GET of a result's link.
enum class Endpoint { token, create, datasource, params, run, get, list, results, abort, upload, upload_completed, download };
inline constexpr std::array<Endpoint, 12> kAllEndpoints = {
    Endpoint::token, Endpoint::create,  Endpoint::datasource, Endpoint::params, Endpoint::run,
    Endpoint::get,   Endpoint::list,    Endpoint::results,    Endpoint::abort,  Endpoint::upload,
    Endpoint::upload_completed, Endpoint::download};
std::string_view endpoint_name(Endpoint e);

enum class Method { get, post, patch, put };

// A body streamed from an open file (an upload) instead of held in memory: its first `size`
// bytes, read with pread from offset 0. The descriptor stays the caller's.
struct FileBody {
  int fd = -1;  // < 0: none
  std::uint64_t size = 0;
};

// Where a download's body goes instead of memory: a 2xx answer's body only (any other
// answer's body is read into HttpResult::body as usual, within the usual limit). The caller
// owns it and keeps it alive for the call; it writes to disk and applies the bandwidth limit.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // A 2xx answer begins (again, if the call is sent again): its Content-Length when given.
  virtual void begin(std::optional<std::uint64_t> content_length) = 0;
  // The body's next bytes; false stops the call (trouble() says why).
  virtual bool take(std::string_view bytes) = 0;
  // How long to wait before reading up to `bytes` more (a bandwidth limit); zero: read now.
  virtual std::chrono::nanoseconds pause_before_read(std::size_t bytes) = 0;
  // Why take() refused; empty when it did not.
  virtual const std::string& trouble() const = 0;
};

// Why no HTTP response arrived. `none` means one did.
// `certificate`: the server's certificate was not accepted (untrusted chain or wrong name);
// nothing was sent, and retrying soon will not help.
enum class TransportFailure { none, connect, tls, certificate, timeout, reset };
std::string_view transport_failure_name(TransportFailure f);

struct HttpCall {
  Endpoint endpoint = Endpoint::get;
  Method method = Method::get;
  std::string target;         // path and query, e.g. /v1/customer/jobs/ID/run
  std::string body;           // JSON; empty for GET and for a PUT (file_body)
  FileBody file_body;         // a PUT's bytes (Content-Disposition: attachment)
  BodySink* sink = nullptr;   // a GET whose 2xx body is streamed to disk (a download)
  std::string authorization;  // raw access token; empty for the token exchange. Never logged.
  // True when sending the call twice has the effect of sending it once (GET, our PATCHes, a
  // create that names its jobId). Only such calls are re-sent after a stale keep-alive
  // connection fails, because the server may have acted on the first copy.
  bool replay_safe = false;
};

struct HttpResult {
  TransportFailure failure = TransportFailure::none;
  std::string failure_detail;  // human text for logs/outcomes (never contains the token)
  int status = 0;
  std::string body;
  std::string retry_after;  // raw Retry-After header, if any
  bool has_response() const { return failure == TransportFailure::none; }
};

}  // namespace submitd::api
