// Role: pins the shared text parsers of lib/util (host:port, %XX, UTF-8) at their edges, so
// a change that would alter what the config, the proxy variables, the control socket, the
// JSON writer or the request parser accept shows up here first.
#include <gtest/gtest.h>

#include <string>

#include "util/host_port.hpp"
#include "util/percent.hpp"
#include "util/utf8.hpp"

using submitd::first_invalid_utf8;
using submitd::HostPortError;
using submitd::parse_host_port;
using submitd::parse_port_number;
using submitd::percent_decode;
using submitd::utf8_sequence_length;

namespace {

constexpr auto npos = std::string_view::npos;

// --- host:port --------------------------------------------------------------------------

TEST(HostPort, NameOrIpv4WithAndWithoutPort) {
  auto a = parse_host_port("api.example.com:8443", 1);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.host, "api.example.com");
  EXPECT_FALSE(a.bracketed);
  EXPECT_EQ(a.port_text, "8443");
  EXPECT_EQ(a.port, 8443);
  auto b = parse_host_port("10.0.0.1", 1);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b.host, "10.0.0.1");
  EXPECT_FALSE(b.port_text.has_value());
  EXPECT_FALSE(b.port.has_value());
}

TEST(HostPort, BracketedIpv6WithAndWithoutPort) {
  auto a = parse_host_port("[::1]:9464", 0);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.host, "::1");
  EXPECT_TRUE(a.bracketed);
  EXPECT_EQ(a.port, 9464);
  auto b = parse_host_port("[fe80::1]", 1);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b.host, "fe80::1");
  EXPECT_FALSE(b.port_text.has_value());
  EXPECT_TRUE(parse_host_port("[::ffff:10.0.0.1]:1", 1).ok());  // IPv4-mapped form
}

TEST(HostPort, Ipv6WithoutBracketsIsRefusedNotSplitAtTheLastColon) {
  EXPECT_EQ(parse_host_port("::1", 1).error, HostPortError::unbracketed_ipv6);
  EXPECT_EQ(parse_host_port("fe80::1:443", 1).error, HostPortError::unbracketed_ipv6);
  EXPECT_EQ(parse_host_port("a:b:c", 1).error, HostPortError::unbracketed_ipv6);
}

TEST(HostPort, BrokenBrackets) {
  EXPECT_EQ(parse_host_port("[::1", 1).error, HostPortError::unclosed_bracket);
  EXPECT_EQ(parse_host_port("[::1]x", 1).error, HostPortError::text_after_bracket);
  EXPECT_EQ(parse_host_port("[::1]]:80", 1).error, HostPortError::text_after_bracket);
  auto bad = parse_host_port("[proxy]:3128", 1);
  EXPECT_EQ(bad.error, HostPortError::not_ipv6);
  EXPECT_EQ(bad.host, "proxy");  // callers quote it
  EXPECT_EQ(parse_host_port("[]:80", 1).error, HostPortError::not_ipv6);
  EXPECT_EQ(parse_host_port("[10.0.0.1]:80", 1).error,
            HostPortError::not_ipv6);  // IPv4 in brackets
  EXPECT_EQ(parse_host_port("[fe80::1%25eth0]", 1).error, HostPortError::not_ipv6);  // no zones
  EXPECT_EQ(parse_host_port("[1:2:3]", 1).error, HostPortError::not_ipv6);  // too few groups
  // The address is judged before what follows it.
  EXPECT_EQ(parse_host_port("[zz]x", 1).error, HostPortError::not_ipv6);
}

TEST(HostPort, PortRangeDependsOnTheCaller) {
  EXPECT_EQ(parse_host_port("h:0", 0).port, 0);  // a listen address: any free port
  auto zero = parse_host_port("h:0", 1);
  ASSERT_TRUE(zero.ok());  // the shape is fine; only the number is not
  EXPECT_EQ(zero.port_text, "0");
  EXPECT_FALSE(zero.port.has_value());
  EXPECT_EQ(parse_host_port("h:65535", 1).port, 65535);
  EXPECT_FALSE(parse_host_port("h:65536", 0).port.has_value());
  EXPECT_FALSE(parse_host_port("h:4294967297", 0).port.has_value());  // wraps a 32-bit value
  EXPECT_FALSE(parse_host_port("[::1]:65536", 1).port.has_value());
}

TEST(HostPort, EmptyOrMalformedPortTextIsKeptButNotParsed) {
  auto empty = parse_host_port("h:", 1);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty.port_text, "");  // a ':' with nothing after it is not "no port"
  EXPECT_FALSE(empty.port.has_value());
  EXPECT_FALSE(parse_host_port("[::1]:", 1).port.has_value());
  for (const char* bad : {"h:31x8", "h:+80", "h:-1", "h: 80", "h:80 ", "h:0x50"}) {
    auto r = parse_host_port(bad, 0);
    EXPECT_TRUE(r.ok()) << bad;
    EXPECT_FALSE(r.port.has_value()) << bad;
  }
}

TEST(HostPort, EmptyHostIsLeftToTheCaller) {
  auto a = parse_host_port(":80", 0);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.host, "");
  EXPECT_EQ(a.port, 80);
  EXPECT_TRUE(parse_host_port("", 1).ok());
}

TEST(HostPort, PortNumberAlone) {
  EXPECT_EQ(parse_port_number("1", 1), 1);
  EXPECT_EQ(parse_port_number("08080", 1), 8080);  // leading zeros are still a number
  EXPECT_FALSE(parse_port_number("", 0).has_value());
  EXPECT_FALSE(parse_port_number("0", 1).has_value());
  EXPECT_FALSE(parse_port_number("65536", 0).has_value());
}

// --- %XX ----------------------------------------------------------------------------------

TEST(PercentDecode, DecodesEscapesInEitherCaseAndCopiesTheRest) {
  EXPECT_EQ(percent_decode("job%3A1"), "job:1");
  EXPECT_EQ(percent_decode("p%40ss%2fw%2Fd"), "p@ss/w/d");
  EXPECT_EQ(percent_decode("a+b~c"), "a+b~c");  // '+' is not a space here
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_EQ(percent_decode("%25"), "%");
  EXPECT_EQ(percent_decode("%2541"), "%41");  // decoded once, not twice
  EXPECT_EQ(percent_decode("%C3%A9"), "\xC3\xA9");
}

TEST(PercentDecode, PercentZeroZeroIsANulByte) {
  auto nul = percent_decode("a%00b");
  ASSERT_TRUE(nul.has_value());
  EXPECT_EQ(*nul, std::string("a\0b", 3));
}

TEST(PercentDecode, BadOrTruncatedEscapesAreErrors) {
  for (const char* bad :
       {"%", "%4", "abc%", "abc%4", "%G1", "%1G", "%%41", "% 41", "%-1", "%x41"}) {
    EXPECT_FALSE(percent_decode(bad).has_value()) << bad;
  }
}

// --- UTF-8 --------------------------------------------------------------------------------

TEST(Utf8, WellFormedSequencesOfEachLength) {
  EXPECT_EQ(utf8_sequence_length("A", 0), 1u);
  EXPECT_EQ(utf8_sequence_length("\xC2\x80", 0), 2u);          // U+0080, smallest 2-byte
  EXPECT_EQ(utf8_sequence_length("\xE0\xA0\x80", 0), 3u);      // U+0800, smallest 3-byte
  EXPECT_EQ(utf8_sequence_length("\xEF\xBF\xBF", 0), 3u);      // U+FFFF
  EXPECT_EQ(utf8_sequence_length("\xF0\x90\x80\x80", 0), 4u);  // U+10000, smallest 4-byte
  EXPECT_EQ(utf8_sequence_length("\xF4\x8F\xBF\xBF", 0), 4u);  // U+10FFFF, the last
  EXPECT_EQ(utf8_sequence_length("x\xC3\xA9", 1), 2u);         // mid-string
  EXPECT_EQ(first_invalid_utf8("h\xC3\xA9llo \xF0\x9F\x98\x80 \xED\x9F\xBF"), npos);
  EXPECT_EQ(first_invalid_utf8(""), npos);
  EXPECT_EQ(first_invalid_utf8(std::string_view("a\0b", 3)), npos);  // NUL is valid UTF-8
}

TEST(Utf8, OverlongFormsAreInvalid) {
  EXPECT_EQ(utf8_sequence_length("\xC0\xAF", 0), 0u);  // '/' in two bytes
  EXPECT_EQ(utf8_sequence_length("\xC1\xBF", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\xE0\x80\xAF", 0), 0u);      // '/' in three bytes
  EXPECT_EQ(utf8_sequence_length("\xE0\x9F\xBF", 0), 0u);      // U+07FF in three bytes
  EXPECT_EQ(utf8_sequence_length("\xF0\x8F\xBF\xBF", 0), 0u);  // U+FFFF in four bytes
  EXPECT_EQ(first_invalid_utf8("ok\xC0\x80"), 2u);
}

TEST(Utf8, SurrogatesAndValuesPastTheLastCodePointAreInvalid) {
  EXPECT_EQ(utf8_sequence_length("\xED\xA0\x80", 0), 0u);      // U+D800
  EXPECT_EQ(utf8_sequence_length("\xED\xBF\xBF", 0), 0u);      // U+DFFF
  EXPECT_EQ(utf8_sequence_length("\xED\x9F\xBF", 0), 3u);      // U+D7FF, just below
  EXPECT_EQ(utf8_sequence_length("\xEE\x80\x80", 0), 3u);      // U+E000, just above
  EXPECT_EQ(utf8_sequence_length("\xF4\x90\x80\x80", 0), 0u);  // U+110000
  EXPECT_EQ(utf8_sequence_length("\xF7\xBF\xBF\xBF", 0), 0u);
  EXPECT_EQ(first_invalid_utf8("ab\xED\xA0\x80"), 2u);
}

TEST(Utf8, TruncatedAndBrokenSequencesAreInvalidAtTheirFirstByte) {
  EXPECT_EQ(utf8_sequence_length("\xC3", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\xE2\x82", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\xF0\x9F\x98", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\xE2\x82\x41", 0), 0u);  // 'A' where a continuation belongs
  EXPECT_EQ(utf8_sequence_length("\xC3\xC3", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\x80", 0), 0u);                  // stray continuation
  EXPECT_EQ(utf8_sequence_length("\xF8\x88\x80\x80\x80", 0), 0u);  // old 5-byte form
  EXPECT_EQ(utf8_sequence_length("\xFF", 0), 0u);
  EXPECT_EQ(first_invalid_utf8("ok\xE2\x82"), 2u);
  EXPECT_EQ(first_invalid_utf8("\xC3\xA9\xC3"), 2u);  // after a valid sequence
  EXPECT_EQ(first_invalid_utf8("abc\x80"), 3u);
}

}  // namespace

TEST(Utf8, PrefixNeverEndsInsideACharacter) {
  using submitd::utf8_prefix;
  EXPECT_EQ(utf8_prefix("abcdef", 4), "abcd");
  EXPECT_EQ(utf8_prefix("abc", 10), "abc");
  // "é" is two bytes: a cut at 2 or 3 bytes keeps "a" or "aé", never half of the é.
  EXPECT_EQ(utf8_prefix("a\xC3\xA9z", 2), "a");
  EXPECT_EQ(utf8_prefix("a\xC3\xA9z", 3), "a\xC3\xA9");
  EXPECT_EQ(utf8_prefix("\xF0\x9F\x98\x80", 3), "");
  // A broken byte counts as one character, so a name that is not UTF-8 still gets cut.
  EXPECT_EQ(utf8_prefix("\xFF\xFF\xFF", 2), "\xFF\xFF");
}
