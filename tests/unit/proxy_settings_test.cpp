// Role: the proxy variables as the daemon reads them (curl's conventions): which variable
// wins, the proxy URL (defaults, credentials, refused schemes and bad values, with errors that
// never show a password), NO_PROXY matching (exact hosts, domain suffixes, `*`, IP literals
// and ranges, ports) and the CONNECT head. No sockets.
#include "api/proxy_settings.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace submitd::api;

namespace {

ProxyEnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

// The message of the ProxyError `f` throws ("" if it does not throw).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const ProxyError& e) {
    return e.what();
  }
  return "";
}

bool exempt(const std::string& no_proxy, const std::string& host, std::uint16_t port = 443) {
  return no_proxy_matches(parse_no_proxy(no_proxy, "NO_PROXY"), host, port);
}

}  // namespace

TEST(ProxyUrl, HostAndPortWithCurlDefaults) {
  auto p = parse_proxy_url("http://Proxy.Example.COM:3128", "HTTPS_PROXY");
  EXPECT_EQ(p.host, "proxy.example.com");
  EXPECT_EQ(p.port, 3128);
  EXPECT_EQ(p.authorization, "");
  EXPECT_EQ(p.variable, "HTTPS_PROXY");
  EXPECT_EQ(p.display(), "http://proxy.example.com:3128");
  // No port: 1080, as curl. No scheme: http, as curl. A trailing slash is fine.
  EXPECT_EQ(parse_proxy_url("http://proxy/", "HTTPS_PROXY").port, 1080);
  auto bare = parse_proxy_url("  proxy.corp:8080 ", "https_proxy");
  EXPECT_EQ(bare.host, "proxy.corp");
  EXPECT_EQ(bare.port, 8080);
  EXPECT_EQ(parse_proxy_url("HTTP://10.1.2.3:3128", "HTTPS_PROXY").host, "10.1.2.3");
  auto v6 = parse_proxy_url("http://[::1]:3128", "HTTPS_PROXY");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.display(), "http://[::1]:3128");
}

TEST(ProxyUrl, CredentialsBecomeBasicAuthorizationAndAreNeverDisplayed) {
  auto p = parse_proxy_url("http://alice:s3cret@proxy:3128", "HTTPS_PROXY");
  EXPECT_EQ(p.authorization, "Basic " + base64_encode("alice:s3cret"));
  EXPECT_EQ(p.authorization, "Basic YWxpY2U6czNjcmV0");
  EXPECT_EQ(p.display(), "http://proxy:3128");
  // %-escapes are decoded; an '@' in the password may be escaped or left bare (the last '@'
  // ends the credentials).
  EXPECT_EQ(parse_proxy_url("http://bob%40corp:p%3Ass@proxy:1", "HTTPS_PROXY").authorization,
            "Basic " + base64_encode("bob@corp:p:ss"));
  EXPECT_EQ(parse_proxy_url("http://bob:p@ss@proxy:1", "HTTPS_PROXY").authorization,
            "Basic " + base64_encode("bob:p@ss"));
  // A user without a password: an empty password.
  EXPECT_EQ(parse_proxy_url("http://carol@proxy:1", "HTTPS_PROXY").authorization,
            "Basic " + base64_encode("carol:"));
}

TEST(ProxyUrl, BadValuesAreRefusedNamingTheVariableButNotTheSecret) {
  struct Case {
    const char* value;
    const char* expect;
  };
  const Case cases[] = {
      {"https://u:topsecret@proxy:443", "proxy scheme \"https\" is not supported"},
      {"socks5://u:topsecret@proxy:1080", "proxy scheme \"socks5\" is not supported"},
      {"socks5h://proxy:1080", "\"socks5h\" is not supported"},
      {"socks4://proxy", "\"socks4\" is not supported"},
      {"http://u:topsecret@proxy:99999", "port \"99999\" is not a number from 1 to 65535"},
      {"http://u:topsecret@proxy:0", "port \"0\""},
      {"http://u:topsecret@proxy:", "port \"\""},
      {"http://u:topsecret@proxy:31x8", "port \"31x8\""},
      {"http://u:topsecret@:3128", "names no host"},
      {"http://u:topsecret@", "names no host"},
      {"http://u:top%zzsecret@proxy", "bad %-escape"},
      {"http://u:topsecret%4@proxy", "bad %-escape"},
      {"http://:topsecret@proxy", "no user name"},
      {"http://u:topsecret@proxy:3128/path", "no path, query or fragment"},
      {"http://u:topsecret@proxy:3128?x=1", "no path, query or fragment"},
      {"http://u:topsecret@::1:3128", "must be in brackets"},
      {"http://u:topsecret@[::1:3128", "'[' without ']'"},
      {"http://u:topsecret@[proxy]:3128", "not an IPv6 address"},
      {"http://u:topsecret@[::1]x", "unexpected text"},
      {"http://u:topsecret@pro xy:3128", "is not a host name"},
      {"   ", "is empty"},
  };
  for (const auto& c : cases) {
    std::string msg = error_of([&] { parse_proxy_url(c.value, "HTTPS_PROXY"); });
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.value << " -> " << msg;
    EXPECT_TRUE(msg.starts_with("HTTPS_PROXY: ")) << msg;
    EXPECT_EQ(msg.find("topsecret"), std::string::npos) << msg;
  }
  // A strange "scheme" is not echoed.
  std::string odd = error_of([] { parse_proxy_url("pass word://proxy", "https_proxy"); });
  EXPECT_NE(odd.find("(unreadable)"), std::string::npos) << odd;
  EXPECT_EQ(odd.find("word"), std::string::npos) << odd;
}

TEST(ProxyEnvironmentRead, LowerCaseWinsAsInCurlAndEmptyMeansUnset) {
  auto both = read_proxy_environment(env_of({{"https_proxy", "http://lower:1"}, {"HTTPS_PROXY", "http://upper:2"}}));
  ASSERT_TRUE(both.server);
  EXPECT_EQ(both.server->host, "lower");
  EXPECT_EQ(both.server->variable, "https_proxy");
  auto upper = read_proxy_environment(env_of({{"https_proxy", ""}, {"HTTPS_PROXY", "http://upper:2"}}));
  ASSERT_TRUE(upper.server);
  EXPECT_EQ(upper.server->variable, "HTTPS_PROXY");
  // Neither set, or only variables the daemon does not read: direct.
  EXPECT_FALSE(read_proxy_environment(env_of({})).server);
  EXPECT_FALSE(read_proxy_environment(env_of({{"http_proxy", "http://p:1"}, {"ALL_PROXY", "socks5://p:1"}})).server);
  // no_proxy before NO_PROXY, too.
  auto np = read_proxy_environment(
      env_of({{"HTTPS_PROXY", "http://p:1"}, {"no_proxy", "internal"}, {"NO_PROXY", "api.bytenite.com"}}));
  EXPECT_EQ(np.no_proxy_variable, "no_proxy");
  EXPECT_TRUE(np.for_host("api.bytenite.com", 443));
  EXPECT_FALSE(np.for_host("x.internal", 443));
}

TEST(ProxyEnvironmentRead, BadValuesStopTheStartButNoProxyOnlyMattersWithAProxy) {
  std::string msg = error_of([] { read_proxy_environment(env_of({{"HTTPS_PROXY", "socks5://u:pw@p:1"}})); });
  EXPECT_NE(msg.find("HTTPS_PROXY"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("pw"), std::string::npos) << msg;
  msg = error_of([] { read_proxy_environment(env_of({{"HTTPS_PROXY", "http://p:1"}, {"NO_PROXY", "a.com:99999"}})); });
  EXPECT_NE(msg.find("NO_PROXY: entry \"a.com:99999\""), std::string::npos) << msg;
  // Without a proxy, a NO_PROXY the daemon would not understand is not its business.
  EXPECT_EQ(error_of([] { read_proxy_environment(env_of({{"NO_PROXY", "a.com:99999"}})); }), "");
}

TEST(NoProxy, ExactHostsAndDomainSuffixesWithOrWithoutLeadingDot) {
  EXPECT_TRUE(exempt("api.bytenite.com", "api.bytenite.com"));
  EXPECT_TRUE(exempt("bytenite.com", "api.bytenite.com"));
  EXPECT_TRUE(exempt(".bytenite.com", "api.bytenite.com"));
  EXPECT_TRUE(exempt("*.bytenite.com", "api.bytenite.com"));
  EXPECT_TRUE(exempt(".bytenite.com", "bytenite.com"));  // as curl: the dot is not required in the host
  EXPECT_FALSE(exempt("bytenite.com", "notbytenite.com"));  // a suffix, but not a domain boundary
  EXPECT_FALSE(exempt("api.bytenite.com", "bytenite.com"));
  EXPECT_FALSE(exempt("example.com", "api.bytenite.com"));
  // Case and a trailing dot do not matter.
  EXPECT_TRUE(exempt("BYTENITE.com.", "Api.ByteNite.COM."));
  // Several entries: commas, spaces, empty entries.
  EXPECT_TRUE(exempt(" example.com , ,localhost  bytenite.com", "api.bytenite.com"));
  EXPECT_TRUE(exempt("example.com,localhost", "localhost"));
}

TEST(NoProxy, StarMeansEverythingAndEmptyMeansNothing) {
  EXPECT_TRUE(exempt("*", "api.bytenite.com"));
  EXPECT_TRUE(exempt("*", "10.0.0.1"));
  EXPECT_TRUE(exempt("example.com, *", "api.bytenite.com"));
  EXPECT_FALSE(exempt("", "api.bytenite.com"));
  EXPECT_FALSE(exempt(" , ", "api.bytenite.com"));
}

TEST(NoProxy, IpLiteralsAndRangesMatchAddressesAsWritten) {
  EXPECT_TRUE(exempt("127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(exempt("127.0.0.1", "127.0.0.2"));
  EXPECT_FALSE(exempt("127.0.0.1", "localhost"));  // names are not resolved to compare (as curl)
  EXPECT_FALSE(exempt("0.0.1", "127.0.0.1"));       // not a suffix match on addresses
  EXPECT_TRUE(exempt("::1", "::1"));
  EXPECT_TRUE(exempt("[::1]", "::1"));
  EXPECT_TRUE(exempt("::1", "[::1]"));
  EXPECT_TRUE(exempt("0:0::1", "::1"));  // compared as addresses, not text
  EXPECT_TRUE(exempt("10.0.0.0/8", "10.200.3.4"));
  EXPECT_FALSE(exempt("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(exempt("192.168.1.0/23", "192.168.0.77"));
  EXPECT_FALSE(exempt("192.168.1.0/24", "192.168.0.77"));
  EXPECT_TRUE(exempt("fd00::/8", "fd12:3456::1"));
  EXPECT_TRUE(exempt("[fd00::]/8", "fd12:3456::1"));
  EXPECT_FALSE(exempt("fd00::/8", "fe80::1"));
  EXPECT_FALSE(exempt("10.0.0.0/8", "::ffff:10.0.0.1"));  // families are not mixed
  EXPECT_TRUE(exempt("0.0.0.0/0", "8.8.8.8"));
}

TEST(NoProxy, APortLimitsAnEntryToThatPort) {
  EXPECT_TRUE(exempt("api.bytenite.com:443", "api.bytenite.com", 443));
  EXPECT_FALSE(exempt("api.bytenite.com:443", "api.bytenite.com", 8443));
  EXPECT_TRUE(exempt("bytenite.com", "api.bytenite.com", 8443));  // no port: every port
  EXPECT_TRUE(exempt("127.0.0.1:8443", "127.0.0.1", 8443));
  EXPECT_FALSE(exempt("127.0.0.1:8443", "127.0.0.1", 443));
  EXPECT_TRUE(exempt("[::1]:8443", "::1", 8443));
  EXPECT_FALSE(exempt("[::1]:8443", "::1", 443));
  EXPECT_TRUE(exempt("10.0.0.0/8:443", "10.1.1.1", 443));
}

TEST(NoProxy, EntriesThatCannotMeanAnythingAreRefused) {
  for (const char* bad : {"example.com:0", "example.com:65536", "example.com:", "example.com:https", "10.0.0.0/33",
                          "10.0.0.0/", "fd00::/129", "bad/8", "exa$mple.com", "[::1", "[::1]x", "[::1]:"}) {
    std::string msg = error_of([&] { parse_no_proxy(std::string("localhost,") + bad, "no_proxy"); });
    EXPECT_TRUE(msg.starts_with("no_proxy: entry \"")) << bad << " -> " << msg;
  }
}

TEST(ProxyEnvironmentRead, ForHostAppliesNoProxy) {
  auto env = read_proxy_environment(env_of({{"HTTPS_PROXY", "http://p:3128"}, {"NO_PROXY", "localhost,127.0.0.1"}}));
  EXPECT_FALSE(env.for_host("localhost", 8443));
  EXPECT_FALSE(env.for_host("127.0.0.1", 8443));
  auto via = env.for_host("api.bytenite.com", 443);
  ASSERT_TRUE(via);
  EXPECT_EQ(via->display(), "http://p:3128");
}

TEST(ConnectHead, NamesTheTargetAndCarriesCredentialsOnlyWhenGiven) {
  auto plain = parse_proxy_url("http://p:3128", "HTTPS_PROXY");
  EXPECT_EQ(connect_request_head(plain, "api.bytenite.com", 443),
            "CONNECT api.bytenite.com:443 HTTP/1.1\r\nHost: api.bytenite.com:443\r\n"
            "User-Agent: bytenite-submitd\r\n\r\n");
  auto authed = parse_proxy_url("http://alice:s3cret@p:3128", "HTTPS_PROXY");
  std::string head = connect_request_head(authed, "::1", 8443);
  EXPECT_TRUE(head.starts_with("CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n")) << head;
  EXPECT_NE(head.find("\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n"), std::string::npos) << head;
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));
}

TEST(ConnectHead, RefusalNamesTheProxyAndTheAnswerButNoSecret) {
  auto plain = parse_proxy_url("http://p:3128", "HTTPS_PROXY");
  EXPECT_EQ(connect_refusal(plain, 403, "Forbidden"), "proxy http://p:3128 refused CONNECT: 403 Forbidden");
  std::string wants = connect_refusal(plain, 407, "Proxy Authentication Required");
  EXPECT_NE(wants.find("refused CONNECT: 407 Proxy Authentication Required"), std::string::npos) << wants;
  EXPECT_NE(wants.find("wants credentials"), std::string::npos) << wants;
  auto authed = parse_proxy_url("http://alice:s3cret@p:3128", "HTTPS_PROXY");
  std::string refused = connect_refusal(authed, 407, "Proxy Authentication Required\r\nX: y");
  EXPECT_NE(refused.find("credentials in HTTPS_PROXY were not accepted"), std::string::npos) << refused;
  EXPECT_EQ(refused.find("s3cret"), std::string::npos);
  EXPECT_EQ(refused.find("YWxpY2U6czNjcmV0"), std::string::npos);
  EXPECT_EQ(refused.find('\r'), std::string::npos);  // the proxy's text cannot break a log line
}

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}
