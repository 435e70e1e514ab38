// Role: the storage hosts that job inputs are uploaded to. A job's tempUrl names one (not the
// API host): each origin (host and port) gets an HttpsPool of its own, made at its first use,
// with the API pool's trust (system store or the given CA file, verification always on) and
// proxy rules. The URL's parsing is plain code; the pools carry the bytes.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "api/http_call.hpp"
#include "api/https_pool.hpp"
#include "api/proxy_settings.hpp"
#include "util/clock.hpp"

namespace submitd::api {

// An https:// URL split for a pool: where to connect and what to ask for.
struct StorageUrl {
  std::string host;  // lower-cased; an IPv6 literal without brackets
  std::uint16_t port = 443;
  std::string target;  // path and query as given ("/" when the URL has no path)
};

// The URL, or why it cannot be used (only https, no user info, no control bytes or spaces).
// The reason never repeats the URL: a signed URL's query is a credential.
std::variant<StorageUrl, std::string> parse_storage_url(std::string_view url);

// The seam the scheduler uploads through; tests put a scripted fake here.
class Storage {
 public:
  virtual ~Storage() = default;
  // Sends `call` (its target ignored) to `url`. Never throws for network trouble.
  virtual boost::asio::awaitable<HttpResult> send(const StorageUrl& url, const HttpCall& call) = 0;
};

struct StorageSettings {
  std::optional<std::string> ca_file;  // trust exactly these CAs instead of the system store
  std::size_t connections_per_host = 4;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds stall_timeout{60000};  // each write of the body, and the answer
  ProxyEnvironment proxy;
  std::size_t max_hosts = 64;  // pools kept at once; more hosts than this are refused
};

class StorageClient final : public Storage {
 public:
  StorageClient(boost::asio::any_io_executor executor, StorageSettings settings, const Clock& clock);
  ~StorageClient() override;
  boost::asio::awaitable<HttpResult> send(const StorageUrl& url, const HttpCall& call) override;
  // Observes every exchange of every pool (metrics), like HttpsPool::set_observer.
  void set_observer(CallObserver observer);
  void shutdown();

 private:
  HttpsPool* pool_for(const StorageUrl& url);

  boost::asio::any_io_executor executor_;
  StorageSettings settings_;
  const Clock& clock_;
  CallObserver observer_;
  std::map<std::string, std::unique_ptr<HttpsPool>> pools_;  // by "host:port"
};

}  // namespace submitd::api
