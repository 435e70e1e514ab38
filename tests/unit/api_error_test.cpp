// Role: both API error shapes and non-JSON bodies become one actionable message.
#include "api/api_error.hpp"

#include <gtest/gtest.h>

using submitd::api::parse_api_error;

TEST(ApiError, RpcStatusShape) {
  auto e = parse_api_error(400, R"({"code":3,"message":"templateId is required","details":[]})");
  EXPECT_EQ(e.message, "HTTP 400: templateId is required");
}

TEST(ApiError, GenericResponseShapePrefersInnerError) {
  auto e = parse_api_error(
      404, R"({"ok":false,"requestId":"x","message":"Request failed","error":{"code":404,"message":"Not Found","description":"The requested resource was not found"}})");
  EXPECT_EQ(e.message, "HTTP 404: Request failed: Not Found: The requested resource was not found");
}

TEST(ApiError, NonJsonAndEmptyBodies) {
  EXPECT_EQ(parse_api_error(502, "<html>bad gateway</html>").message, "HTTP 502 (bad gateway)");
  EXPECT_EQ(parse_api_error(403, "").message, "HTTP 403 (permission denied)");
  EXPECT_EQ(parse_api_error(500, "[1,2]").message, "HTTP 500 (server error)");
}

TEST(ApiError, ServerTextIsSanitizedAndBounded) {
  std::string body = R"({"message":")" + std::string(1000, 'x') + "\\n\\u0001\"}";
  auto e = parse_api_error(400, body);
  EXPECT_LT(e.message.size(), 330u);
  EXPECT_EQ(e.message.find('\n'), std::string::npos);
}

// Found by fuzz_api_response: the 300-byte cut could split a multi-byte character.
TEST(ApiError, LongMessagesAreCutOnACharacterBoundary) {
  std::string body = R"({"message":")" + std::string(299, 'x') + "\u00e9\u00e9" + R"("})";
  auto e = submitd::api::parse_api_error(400, body);
  EXPECT_EQ(e.message, "HTTP 400: " + std::string(299, 'x') + "...");
}
