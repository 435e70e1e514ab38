// Role: the storage hosts' pools and the tempUrl parser (see storage_client.hpp).
#include "api/storage_client.hpp"

#include <algorithm>

#include "util/header_text.hpp"
#include "util/host_port.hpp"

namespace submitd::api {

std::variant<StorageUrl, std::string> parse_storage_url(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.size() < kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), url.begin(),
                  [](char a, char b) { return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b - 'A' + 'a') : b); })) {
    return std::string("the upload URL is not an https:// URL");
  }
  std::string_view rest = url.substr(kScheme.size());
  rest = rest.substr(0, rest.find('#'));  // a fragment is never sent
  if (!is_single_token(rest)) return std::string("the upload URL holds a space or a control character");
  const std::size_t path_at = std::min(rest.find('/'), rest.find('?'));
  const std::string_view authority = rest.substr(0, path_at);
  if (authority.find('@') != std::string_view::npos) return std::string("the upload URL holds user info");
  const HostPort parts = parse_host_port(authority, 1);
  if (!parts.ok() || parts.host.empty() || (parts.port_text && !parts.port)) {
    return std::string("the upload URL's host or port is not valid");
  }
  StorageUrl out;
  out.host.assign(parts.host);
  std::transform(out.host.begin(), out.host.end(), out.host.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  if (parts.port) out.port = *parts.port;
  std::string_view target = path_at == std::string_view::npos ? std::string_view() : rest.substr(path_at);
  out.target = target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
  return out;
}

StorageClient::StorageClient(boost::asio::any_io_executor executor, StorageSettings settings, const Clock& clock)
    : executor_(std::move(executor)), settings_(std::move(settings)), clock_(clock) {}

StorageClient::~StorageClient() { shutdown(); }

void StorageClient::set_observer(CallObserver observer) {
  observer_ = std::move(observer);
  for (auto& [origin, pool] : pools_) pool->set_observer(observer_);
}

void StorageClient::shutdown() {
  for (auto& [origin, pool] : pools_) pool->shutdown();
}

HttpsPool* StorageClient::pool_for(const StorageUrl& url) {
  const std::string origin = url.host + ":" + std::to_string(url.port);
  auto found = pools_.find(origin);
  if (found != pools_.end()) return found->second.get();
  if (pools_.size() >= settings_.max_hosts) return nullptr;
  PoolSettings s;
  s.host = url.host;
  s.port = url.port;
  s.ca_file = settings_.ca_file;
  s.connections = settings_.connections_per_host;
  s.connect_timeout = settings_.connect_timeout;
  s.request_timeout = settings_.stall_timeout;
  s.proxy = settings_.proxy.for_host(url.host, url.port);
  auto pool = std::make_unique<HttpsPool>(executor_, std::move(s), clock_);
  if (observer_) pool->set_observer(observer_);
  return pools_.emplace(origin, std::move(pool)).first->second.get();
}

boost::asio::awaitable<HttpResult> StorageClient::send(const StorageUrl& url, const HttpCall& call) {
  HttpsPool* pool = pool_for(url);
  if (pool == nullptr) {
    HttpResult out;
    out.failure = TransportFailure::connect;
    out.failure_detail = "uploads go to more than " + std::to_string(settings_.max_hosts) + " storage hosts";
    co_return out;
  }
  HttpCall routed = call;  // the pool sends call.target: the URL's path and query
  routed.target = url.target;
  co_return co_await pool->send(routed);
}

}  // namespace submitd::api
