// Role: JSON string escaping keeps outcome lines valid JSON whatever a message contains.
#include "util/json_text.hpp"

#include <gtest/gtest.h>

using submitd::append_json_int;
using submitd::json_string;

TEST(JsonText, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(json_string("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json_string("x\ny\tz\r"), R"("x\ny\tz\r")");
  EXPECT_EQ(json_string(std::string("\x01\x7f", 2)), R"("\u0001\u007f")");
}

TEST(JsonText, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(json_string("h\xC3\xA9llo \xF0\x9F\x98\x80"), "\"h\xC3\xA9llo \xF0\x9F\x98\x80\"");
  EXPECT_EQ(json_string("a\xFF" "b"), R"("a\ufffdb")");
  EXPECT_EQ(json_string("\xC0\xAF"), R"("\ufffd\ufffd")");       // overlong '/'
  EXPECT_EQ(json_string("\xED\xA0\x80"), R"("\ufffd\ufffd\ufffd")");  // surrogate
  EXPECT_EQ(json_string("\xE2\x82"), R"("\ufffd\ufffd")");        // truncated
}

TEST(JsonText, IntegersAreAppendedInDecimal) {
  std::string out = "[";
  append_json_int(out, 0);
  out += ",";
  append_json_int(out, -42);
  out += ",";
  append_json_int(out, 9223372036854775807LL);
  EXPECT_EQ(out, "[0,-42,9223372036854775807");
}
