// Role: which HTTP proxy, if any, carries the connections to the API host, as plain logic
// read from the environment the way curl reads it (no sockets here; HttpsPool opens the
// CONNECT tunnel). Only `http://` proxies are supported: the daemon talks plain HTTP to the
// proxy, asks it for a tunnel with `CONNECT host:port`, then speaks TLS to the API host
// through the tunnel (so certificate and host-name verification are end to end).
//
// Variables (an empty variable counts as unset):
// - `https_proxy`, else `HTTPS_PROXY` (curl's order: the lower-case name wins when both are
//   set). `ALL_PROXY`/`all_proxy` and `http_proxy` are not read: the API is https only.
//   Value: `[http://][user[:password]@]host[:port][/]`; no scheme means http (as curl);
//   no port means 1080 (curl's default for proxies). User and password may be %-encoded;
//   they become a `Proxy-Authorization: Basic` header and are never printed.
//   `https://`, `socks4://`, `socks5://` (and any other scheme) are refused at start.
// - `no_proxy`, else `NO_PROXY`: hosts reached directly. Comma- (or space-) separated
//   entries; `*` alone means every host; `example.com` or `.example.com` match that host
//   and every name under it; an IP literal (`127.0.0.1`, `::1`, `[::1]`) matches that
//   address as written in the API URL (names are not resolved to compare); an IP range in
//   CIDR form (`10.0.0.0/8`, `fd00::/8`) matches addresses in it. An entry may end in
//   `:port`, which limits it to that port. Matching ignores case and a trailing dot.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace submitd::api {

// Looks up an environment variable (same shape as config::EnvLookup); an empty value should
// come back as nullopt.
using ProxyEnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// A proxy variable that cannot be used. The message names the variable and says why; it never
// contains the user name or password of the value.
class ProxyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ProxyServer {
  std::string host;           // lower-cased; an IPv6 literal without brackets
  std::uint16_t port = 1080;
  std::string authorization;  // "Basic ..." when the URL has a user, else empty. Never logged.
  std::string variable;       // where it came from: "https_proxy" or "HTTPS_PROXY"

  // "http://host:port" (brackets around IPv6), with no credentials: safe to log.
  std::string display() const;
  bool operator==(const ProxyServer&) const = default;
};

// One NO_PROXY entry.
struct NoProxyRule {
  enum class Kind { everything, domain, address, network };
  Kind kind = Kind::domain;
  std::string name;           // domain: lower-cased, no leading/trailing dot
  std::vector<std::uint8_t> address;  // address/network: 4 or 16 bytes
  unsigned prefix_bits = 0;   // network only
  std::optional<std::uint16_t> port;  // only this port, when given
};

// Parses a proxy URL (the value of `variable`). Throws ProxyError.
ProxyServer parse_proxy_url(std::string_view value, std::string_view variable);

// Parses a NO_PROXY list. Entries that cannot mean anything (a bad port, a bad CIDR prefix)
// throw ProxyError naming `variable` and the entry: a typo there would otherwise silently
// send traffic through the proxy.
std::vector<NoProxyRule> parse_no_proxy(std::string_view value, std::string_view variable);

// Does any rule exempt `host` (as written in the API URL; IPv6 without brackets) on `port`?
bool no_proxy_matches(const std::vector<NoProxyRule>& rules, std::string_view host, std::uint16_t port);

struct ProxyEnvironment {
  std::optional<ProxyServer> server;  // unset: no proxy variable
  std::vector<NoProxyRule> no_proxy;
  std::string no_proxy_variable;      // "no_proxy" or "NO_PROXY" when set

  // The proxy for a connection to host:port, or nullopt to connect directly.
  std::optional<ProxyServer> for_host(std::string_view host, std::uint16_t port) const;
};

// Reads and checks the variables above. Throws ProxyError.
ProxyEnvironment read_proxy_environment(const ProxyEnvLookup& env);

// The CONNECT request head for a tunnel to host:port through `proxy` (IPv6 host in brackets),
// ending with the blank line. Holds the credentials: never log it.
std::string connect_request_head(const ProxyServer& proxy, std::string_view host, std::uint16_t port);

// The transport failure text for a CONNECT answered with `status` and `reason`, e.g.
// "proxy http://p:3128 refused CONNECT: 407 Proxy Authentication Required".
std::string connect_refusal(const ProxyServer& proxy, int status, std::string_view reason);

// RFC 4648 base64 (with padding), for the Basic credentials.
std::string base64_encode(std::string_view bytes);

}  // namespace submitd::api
