// Role: proxy variables, NO_PROXY matching and the CONNECT head (see proxy_settings.hpp).
#include "api/proxy_settings.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "util/host_port.hpp"
#include "util/percent.hpp"

namespace submitd::api {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

bool valid_host_name(std::string_view h) {
  return !h.empty() && std::all_of(h.begin(), h.end(), is_host_char);
}

// 4 or 16 bytes for an IP literal (IPv6 without brackets), else nullopt.
std::optional<std::vector<std::uint8_t>> ip_bytes(std::string_view text) {
  std::string s(text);
  std::array<std::uint8_t, 16> buf{};
  if (::inet_pton(AF_INET, s.c_str(), buf.data()) == 1) return std::vector<std::uint8_t>(buf.begin(), buf.begin() + 4);
  if (::inet_pton(AF_INET6, s.c_str(), buf.data()) == 1) return std::vector<std::uint8_t>(buf.begin(), buf.end());
  return std::nullopt;
}

// A scheme is printed in errors only when it looks like one (it precedes "://", so it holds no
// credentials, but keep odd text out of logs anyway).
std::string printable_scheme(std::string_view scheme) {
  bool plain = !scheme.empty() && scheme.size() <= 16 &&
               std::all_of(scheme.begin(), scheme.end(), [](char c) {
                 return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
               });
  return plain ? "\"" + std::string(scheme) + "\"" : "(unreadable)";
}

std::string bracketed(std::string_view host) {
  return host.find(':') != std::string_view::npos ? "[" + std::string(host) + "]" : std::string(host);
}

bool prefix_equal(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b, unsigned bits) {
  if (a.size() != b.size()) return false;
  std::size_t whole = bits / 8;
  if (std::memcmp(a.data(), b.data(), whole) != 0) return false;
  unsigned rest = bits % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

std::string ProxyServer::display() const { return "http://" + bracketed(host) + ":" + std::to_string(port); }

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (std::uint32_t(std::uint8_t(bytes[i])) << 16) | (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) |
                      std::uint8_t(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  std::size_t left = bytes.size() - i;
  if (left > 0) {
    std::uint32_t v = std::uint32_t(std::uint8_t(bytes[i])) << 16;
    if (left == 2) v |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += left == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

ProxyServer parse_proxy_url(std::string_view value, std::string_view variable) {
  const std::string var(variable);
  auto fail = [&](const std::string& why) { return ProxyError(var + ": " + why); };
  std::string_view rest = trim(value);
  if (rest.empty()) throw fail("is empty");
  if (auto sep = rest.find("://"); sep != std::string_view::npos) {
    std::string scheme = lower(rest.substr(0, sep));
    if (scheme != "http") {
      throw fail("proxy scheme " + printable_scheme(scheme) +
                 " is not supported; only http:// proxies (which tunnel TLS with CONNECT) are");
    }
    rest.remove_prefix(sep + 3);
  }
  // The authority ends at the path; only an empty path or "/" is accepted.
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  std::string_view tail = rest.substr(authority.size());
  if (!tail.empty() && tail != "/") {
    throw fail("a proxy URL has no path, query or fragment; give [http://][user:password@]host[:port]");
  }
  ProxyServer out;
  out.variable = var;
  std::string_view hostport = authority;
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    hostport = authority.substr(at + 1);
    std::string_view user = userinfo.substr(0, userinfo.find(':'));
    std::string_view pass = user.size() < userinfo.size() ? userinfo.substr(user.size() + 1) : std::string_view();
    auto u = percent_decode(user);
    auto p = percent_decode(pass);
    if (!u || !p) throw fail("the proxy user name or password has a bad %-escape");
    if (u->empty()) throw fail("the proxy URL has '@' but no user name before it");
    out.authorization = "Basic " + base64_encode(*u + ":" + *p);
  }
  const HostPort parts = parse_host_port(hostport, 1);
  switch (parts.error) {
    case HostPortError::none: break;
    case HostPortError::unclosed_bracket: throw fail("the proxy host has '[' without ']'");
    case HostPortError::not_ipv6:
      throw fail("\"" + std::string(parts.host) + "\" in brackets is not an IPv6 address");
    case HostPortError::text_after_bracket:
      throw fail("unexpected text after the bracketed proxy address");
    case HostPortError::unbracketed_ipv6:
      throw fail("an IPv6 proxy address must be in brackets, e.g. http://[::1]:3128");
  }
  // A bracketed host is already a checked IPv6 address; a bare one must be a name or IPv4.
  if (!parts.bracketed) {
    if (parts.host.empty()) throw fail("the proxy URL names no host");
    if (!valid_host_name(parts.host)) {
      throw fail("the proxy host \"" + std::string(parts.host) +
                 "\" is not a host name or address");
    }
  }
  out.host = lower(parts.host);
  if (!out.host.empty() && out.host.back() == '.') out.host.pop_back();
  if (parts.port_text) {
    if (!parts.port) {
      throw fail("the proxy port \"" + std::string(*parts.port_text) +
                 "\" is not a number from 1 to 65535");
    }
    out.port = *parts.port;
  }
  return out;
}

std::vector<NoProxyRule> parse_no_proxy(std::string_view value, std::string_view variable) {
  const std::string var(variable);
  std::vector<NoProxyRule> rules;
  std::size_t i = 0;
  while (i < value.size()) {
    std::size_t end = value.find_first_of(", \t", i);
    if (end == std::string_view::npos) end = value.size();
    std::string entry = lower(value.substr(i, end - i));
    i = end + 1;
    if (entry.empty()) continue;
    auto fail = [&](const std::string& why) { return ProxyError(var + ": entry \"" + entry + "\" " + why); };
    NoProxyRule rule;
    if (entry == "*") {
      rule.kind = NoProxyRule::Kind::everything;
      rules.push_back(std::move(rule));
      continue;
    }
    std::string_view hostpart = entry;
    std::string_view port;
    if (entry.front() == '[') {
      auto close = entry.find(']');
      if (close == std::string::npos) throw fail("has '[' without ']'");
      hostpart = std::string_view(entry).substr(1, close - 1);
      std::string_view after = std::string_view(entry).substr(close + 1);
      if (!after.empty() && after.front() == '/') {
        // "[fd00::]/8": the prefix belongs to the address.
        hostpart = std::string_view(entry).substr(1);  // re-joined below
      } else if (!after.empty()) {
        if (after.front() != ':') throw fail("has unexpected text after ']'");
        port = after.substr(1);
        if (port.empty()) throw fail("has ':' but no port");
      }
    } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
      auto colon = entry.find(':');
      hostpart = std::string_view(entry).substr(0, colon);
      port = std::string_view(entry).substr(colon + 1);
      if (port.empty()) throw fail("has ':' but no port");
    }
    if (!port.empty()) {
      auto p = parse_port_number(port, 1);
      if (!p) throw fail("has a port that is not a number from 1 to 65535");
      rule.port = *p;
    }
    std::string host(hostpart);
    if (auto bracket = host.find(']'); bracket != std::string::npos) host.erase(bracket, 1);
    if (auto slash = host.find('/'); slash != std::string::npos) {
      auto bytes = ip_bytes(std::string_view(host).substr(0, slash));
      if (!bytes) throw fail("has a '/' but is not an address range such as 10.0.0.0/8");
      std::string_view bits_text = std::string_view(host).substr(slash + 1);
      unsigned bits = 0;
      auto [p, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
      if (bits_text.empty() || ec != std::errc{} || p != bits_text.data() + bits_text.size() ||
          bits > bytes->size() * 8) {
        throw fail("has a prefix length that does not fit the address");
      }
      rule.kind = NoProxyRule::Kind::network;
      rule.address = std::move(*bytes);
      rule.prefix_bits = bits;
    } else if (auto bytes = ip_bytes(host)) {
      rule.kind = NoProxyRule::Kind::address;
      rule.address = std::move(*bytes);
    } else {
      std::string_view name = host;
      if (name.starts_with("*.")) name.remove_prefix(1);
      while (name.starts_with(".")) name.remove_prefix(1);
      while (name.ends_with(".")) name.remove_suffix(1);
      if (!valid_host_name(name)) throw fail("is not a host name, domain or address");
      rule.kind = NoProxyRule::Kind::domain;
      rule.name = std::string(name);
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

bool no_proxy_matches(const std::vector<NoProxyRule>& rules, std::string_view host_in, std::uint16_t port) {
  std::string host = lower(host_in);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  while (!host.empty() && host.back() == '.') host.pop_back();
  auto ip = ip_bytes(host);
  for (const auto& r : rules) {
    if (r.port && *r.port != port) continue;
    switch (r.kind) {
      case NoProxyRule::Kind::everything: return true;
      case NoProxyRule::Kind::domain:
        if (ip) break;  // names are not resolved to compare
        if (host == r.name) return true;
        if (host.size() > r.name.size() && host.ends_with(r.name) &&
            host[host.size() - r.name.size() - 1] == '.') {
          return true;
        }
        break;
      case NoProxyRule::Kind::address:
        if (ip && *ip == r.address) return true;
        break;
      case NoProxyRule::Kind::network:
        if (ip && prefix_equal(*ip, r.address, r.prefix_bits)) return true;
        break;
    }
  }
  return false;
}

std::optional<ProxyServer> ProxyEnvironment::for_host(std::string_view host, std::uint16_t port) const {
  if (!server || no_proxy_matches(no_proxy, host, port)) return std::nullopt;
  return server;
}

ProxyEnvironment read_proxy_environment(const ProxyEnvLookup& env) {
  ProxyEnvironment out;
  for (const char* name : {"https_proxy", "HTTPS_PROXY"}) {
    if (auto v = env(name); v && !trim(*v).empty()) {
      out.server = parse_proxy_url(*v, name);
      break;
    }
  }
  // NO_PROXY only matters (and is only checked) when there is a proxy to bypass.
  if (!out.server) return out;
  for (const char* name : {"no_proxy", "NO_PROXY"}) {
    if (auto v = env(name); v && !trim(*v).empty()) {
      out.no_proxy = parse_no_proxy(*v, name);
      out.no_proxy_variable = name;
      break;
    }
  }
  return out;
}

std::string connect_request_head(const ProxyServer& proxy, std::string_view host, std::uint16_t port) {
  std::string authority = bracketed(host) + ":" + std::to_string(port);
  std::string head = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
  if (!proxy.authorization.empty()) head += "Proxy-Authorization: " + proxy.authorization + "\r\n";
  head += "User-Agent: bytenite-submitd\r\n\r\n";
  return head;
}

std::string connect_refusal(const ProxyServer& proxy, int status, std::string_view reason) {
  std::string clean;
  for (char c : reason.substr(0, 120)) clean += (c >= 0x20 && c < 0x7F) ? c : '?';
  std::string out = "proxy " + proxy.display() + " refused CONNECT: " + std::to_string(status);
  if (!clean.empty()) out += " " + clean;
  if (status == 407) {
    out += proxy.authorization.empty()
               ? " (the proxy wants credentials: give user:password@ in " + proxy.variable + ")"
               : " (the credentials in " + proxy.variable + " were not accepted)";
  }
  return out;
}

}  // namespace submitd::api
