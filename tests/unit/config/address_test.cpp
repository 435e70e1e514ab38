// Role: the URL/listen-address parsers directly, for the forms the loader tests do not reach.
#include "config/address.hpp"

#include <gtest/gtest.h>

namespace submitd::config {
namespace {

TEST(BaseUrl, PercentEncodedPathAndIpv4) {
  std::string why;
  auto url = parse_base_url("https://10.0.0.1:8443/a%20b/v1", why);
  ASSERT_TRUE(url) << why;
  EXPECT_EQ(url->host, "10.0.0.1");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->base_path, "/a%20b/v1");
  EXPECT_FALSE(parse_base_url("https://h/a%2/v1", why));
  EXPECT_FALSE(parse_base_url("https://h/a b", why));
  EXPECT_FALSE(parse_base_url("https://h./v1", why));
  EXPECT_FALSE(parse_base_url("https://[::1]x/v1", why));
  EXPECT_EQ(why, "unexpected text after ']' (expected ':port')");
}

TEST(BaseUrl, OnlySlashesIsEmptyPrefix) {
  std::string why;
  auto url = parse_base_url("https://h///", why);
  ASSERT_TRUE(url) << why;
  EXPECT_EQ(url->base_path, "");
}

TEST(PathSegment, Rules) {
  EXPECT_TRUE(is_path_segment("customer"));
  EXPECT_TRUE(is_path_segment("v1.beta_x~-"));
  EXPECT_FALSE(is_path_segment(""));
  EXPECT_FALSE(is_path_segment("."));
  EXPECT_FALSE(is_path_segment(".."));
  EXPECT_FALSE(is_path_segment("a/b"));
  EXPECT_FALSE(is_path_segment("a%20"));
}

TEST(ListenAddress, Forms) {
  std::string why;
  auto a = parse_listen_address("[fe80::1]:9464", why);
  ASSERT_TRUE(a) << why;
  EXPECT_EQ(a->host, "fe80::1");
  EXPECT_EQ(a->port, 9464);
  EXPECT_FALSE(parse_listen_address("[::1]", why));
  EXPECT_EQ(why, "missing port: expected host:port or [v6-address]:port, e.g. 127.0.0.1:9464");
}

}  // namespace
}  // namespace submitd::config
