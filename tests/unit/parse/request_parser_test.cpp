// Role: what the request parser accepts and extracts: fields, pass-through objects kept as
// written, warnings for unknown fields, and no reading past unpadded input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "parse_helpers.hpp"

namespace submitd::spool {
namespace {

using testing::accepted;
using ::testing::ElementsAre;

constexpr std::string_view kFullRequest =
    R"({"requestId":"billing-2026-11-28-0001","templateId":"img-gen-diffusers","name":"Sunset images","description":"optional",
 "dataSource":{"dataSourceDescriptor":"url","params":{"@type":"type.googleapis.com/bytenite.data_source.HttpDataSource","url":"https://storage.example.com/in.txt"}},
 "dataDestination":{"dataSourceDescriptor":"bucket"},
 "params":{"partitioner":{"numImages":20},"app":{"prompt":"A sunset"},"assembler":{"outExtension":"jpeg"}},
 "config":{"taskTimeout":3600,"jobTimeout":86400,"isTestJob":true}})";

TEST(RequestParser, FullRequestFromTheContract) {
  ParseOutcome out = testing::parse(kFullRequest, 7);
  ASSERT_TRUE(std::holds_alternative<JobRequest>(out));
  const auto& r = std::get<JobRequest>(out);
  EXPECT_EQ(r.line, 7u);
  EXPECT_EQ(r.request_id, "billing-2026-11-28-0001");
  EXPECT_EQ(r.template_id, "img-gen-diffusers");
  EXPECT_EQ(r.name, "Sunset images");
  EXPECT_EQ(r.description, "optional");
  EXPECT_EQ(
      r.data_source_json,
      R"({"dataSourceDescriptor":"url","params":{"@type":"type.googleapis.com/bytenite.data_source.HttpDataSource","url":"https://storage.example.com/in.txt"}})");
  EXPECT_EQ(r.data_destination_json, R"({"dataSourceDescriptor":"bucket"})");
  EXPECT_EQ(
      r.params_json,
      R"({"partitioner":{"numImages":20},"app":{"prompt":"A sunset"},"assembler":{"outExtension":"jpeg"}})");
  EXPECT_EQ(r.config_json, R"({"taskTimeout":3600,"jobTimeout":86400,"isTestJob":true})");
  EXPECT_TRUE(r.warnings.empty());
}

TEST(RequestParser, OnlyTemplateIdIsRequired) {
  JobRequest r = accepted(R"({"templateId":"t"})");
  EXPECT_EQ(r.template_id, "t");
  EXPECT_EQ(r.request_id, "");
  EXPECT_EQ(r.name, "");
  EXPECT_EQ(r.data_source_json, "");
  EXPECT_EQ(r.data_destination_json, "");
  EXPECT_EQ(r.params_json, "");
  EXPECT_EQ(r.config_json, "");
}

TEST(RequestParser, NullMeansAbsent) {
  JobRequest r = accepted(R"({"templateId":"t","requestId":null,"name":null,"description":null,
      "dataSource":null,"dataDestination":null,"params":null,"config":null})");
  EXPECT_EQ(r.request_id, "");
  EXPECT_EQ(r.name, "");
  EXPECT_EQ(r.data_source_json, "");
  EXPECT_EQ(r.params_json, "");
  EXPECT_EQ(r.config_json, "");
  EXPECT_TRUE(r.warnings.empty());
}

TEST(RequestParser, PassThroughKeepsTheTextAsWritten) {
  // Spacing, key order, escapes and numbers beyond double precision survive untouched.
  JobRequest r = accepted(
      "{ \"templateId\" : \"t\" ,\n \"params\" : { \"a\" : [ 1 , 2.50 ],\t\"big\": "
      "123456789012345678901234567890, \"e\":1E+400, \"s\":\"\\u00e9\\n\" }  \n,"
      "\"config\":{ \"isTestJob\" : false , \"taskTimeout\" : null }\r\n}");
  EXPECT_EQ(r.params_json,
            "{ \"a\" : [ 1 , 2.50 ],\t\"big\": 123456789012345678901234567890, "
            "\"e\":1E+400, \"s\":\"\\u00e9\\n\" }");
  EXPECT_EQ(r.config_json, "{ \"isTestJob\" : false , \"taskTimeout\" : null }");
}

TEST(RequestParser, StringsAreUnescaped) {
  JobRequest r = accepted(R"({"templateId":"img\u002dgen","name":"Sunset \"A\" \u00e9"})");
  EXPECT_EQ(r.template_id, "img-gen");
  EXPECT_EQ(r.name, "Sunset \"A\" \xC3\xA9");
}

TEST(RequestParser, RequestIdLimits) {
  EXPECT_EQ(accepted(R"({"templateId":"t","requestId":"A-z_0.9:x"})").request_id, "A-z_0.9:x");
  std::string id(128, 'r');
  EXPECT_EQ(accepted(R"({"templateId":"t","requestId":")" + id + "\"}").request_id, id);
}

TEST(RequestParser, UnknownFieldsAreWarningsNotFailures) {
  JobRequest r =
      accepted(R"({"templateId":"t","priority":5,"tags":["a",{"b":null}],"config":{"retries":3}})");
  EXPECT_THAT(r.warnings,
              ElementsAre("unknown field \"priority\" ignored", "unknown field \"tags\" ignored",
                          "unknown field \"config.retries\" passed through to the run call"));
}

TEST(RequestParser, WarningsAreCapped) {
  std::string text = R"({"templateId":"t")";
  for (int i = 0; i < 100; ++i) text += ",\"f" + std::to_string(i) + "\":1";
  JobRequest r = accepted(text + "}");
  ASSERT_EQ(r.warnings.size(), 9u);
  EXPECT_EQ(r.warnings.back(), "and 92 more warnings");
}

TEST(RequestParser, ByteOrderMarkIsAccepted) {
  EXPECT_EQ(accepted("\xEF\xBB\xBF{\"templateId\":\"t\"}").template_id, "t");
}

TEST(RequestParser, SurroundingWhitespaceIsFine) {
  EXPECT_EQ(accepted(" \r\n\t{\"templateId\":\"t\"} \r\n").template_id, "t");
}

TEST(RequestParser, DeepButBoundedNestingPasses) {
  std::string params = std::string(60, '[') + "1" + std::string(60, ']');
  EXPECT_EQ(accepted(R"({"templateId":"t","params":{"x":)" + params + "}}").params_json,
            "{\"x\":" + params + "}");
}

TEST(RequestParser, UnpaddedInputIsNeverReadPastItsEnd) {
  // An exactly-sized heap block: AddressSanitizer builds would catch any over-read.
  std::string text = R"({"templateId":"t","params":{"a":1}})";
  auto block = std::make_unique<char[]>(text.size());
  std::copy(text.begin(), text.end(), block.get());
  ParseOutcome out = testing::parse(std::string_view(block.get(), text.size()));
  ASSERT_TRUE(std::holds_alternative<JobRequest>(out));
  EXPECT_EQ(std::get<JobRequest>(out).params_json, R"({"a":1})");
}

TEST(RequestParser, ParserIsReusableAcrossGoodAndBadInputs) {
  simdjson::ondemand::parser parser;
  for (int round = 0; round < 3; ++round) {
    EXPECT_TRUE(std::holds_alternative<RequestError>(parse_request("{\"templateId\":", 1, parser)));
    auto good = parse_request(kFullRequest, 2, parser);
    ASSERT_TRUE(std::holds_alternative<JobRequest>(good));
    EXPECT_EQ(std::get<JobRequest>(good).data_destination_json,
              R"({"dataSourceDescriptor":"bucket"})");
    EXPECT_TRUE(std::holds_alternative<RequestError>(parse_request("[]", 3, parser)));
  }
}

TEST(RequestParser, OwningParserClass) {
  RequestParser parser;
  auto out = parser.parse(R"({"templateId":"t"})", 9);
  ASSERT_TRUE(std::holds_alternative<JobRequest>(out));
  EXPECT_EQ(std::get<JobRequest>(out).line, 9u);
}

TEST(Utf8, Validation) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xC3"));
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));  // a UTF-16 surrogate
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));      // overlong '/'
}

}  // namespace
}  // namespace submitd::spool
