// Role: every way a request is refused, with the exact message a person gets: the line, the
// field, what was expected and what was found (or where the JSON breaks).
#include <gtest/gtest.h>

#include "parse_helpers.hpp"
#include "spool/request_json_text.hpp"

namespace submitd::spool {
namespace {

using testing::accepted;
using testing::refused;

TEST(RequestErrors, RenderingOfAnError) {
  EXPECT_EQ(to_string(RequestError{3, "templateId", "expected a non-empty string, found number"}),
            "line 3: field \"templateId\": expected a non-empty string, found number");
  EXPECT_EQ(to_string(RequestError{0, "", "not valid UTF-8"}), "not valid UTF-8");
  EXPECT_EQ(to_string(RequestError{2, "", "empty input"}), "line 2: empty input");
}

TEST(RequestErrors, ErrorCarriesLineAndField) {
  ParseOutcome out = testing::parse(R"({"templateId":5})", 42);
  ASSERT_TRUE(std::holds_alternative<RequestError>(out));
  const auto& e = std::get<RequestError>(out);
  EXPECT_EQ(e.line, 42u);
  EXPECT_EQ(e.field, "templateId");
  EXPECT_EQ(e.message, "expected a non-empty string, found number");
}

TEST(RequestErrors, TemplateId) {
  EXPECT_EQ(refused(R"({"templateId":5})"),
            "line 3: field \"templateId\": expected a non-empty string, found number");
  EXPECT_EQ(refused(R"({"name":"x"})"),
            "line 3: field \"templateId\": required field is missing: expected a non-empty string");
  EXPECT_EQ(refused(R"({"templateId":""})"),
            "line 3: field \"templateId\": expected a non-empty string, found an empty string");
  EXPECT_EQ(refused(R"({"templateId":" \t"})"),
            "line 3: field \"templateId\": expected a non-empty string, found an empty string");
  EXPECT_EQ(refused(R"({"templateId":null})"),
            "line 3: field \"templateId\": expected a non-empty string, found null");
  EXPECT_EQ(refused(R"({"templateId":["t"]})"),
            "line 3: field \"templateId\": expected a non-empty string, found array");
}

TEST(RequestErrors, RequestId) {
  const std::string expected =
      "line 3: field \"requestId\": expected 1 to 128 characters of A-Z a-z 0-9 . _ : -, ";
  EXPECT_EQ(refused(R"({"templateId":"t","requestId":""})"), expected + "found an empty string");
  EXPECT_EQ(refused(R"({"templateId":"t","requestId":")" + std::string(129, 'r') + "\"}"),
            expected + "found 129 bytes");
  EXPECT_EQ(refused(R"({"templateId":"t","requestId":"a b"})"),
            expected + "found a space at position 2");
  EXPECT_EQ(refused(R"({"templateId":"t","requestId":"ab/c"})"),
            expected + "found '/' at position 3");
  EXPECT_EQ(refused(R"({"templateId":"t","requestId":"\u00e9"})"),
            expected + "found byte 0xC3 at position 1");
  EXPECT_EQ(refused(R"({"templateId":"t","requestId":"a\u0000"})"),
            expected + "found byte 0x00 at position 2");
  EXPECT_EQ(refused(R"({"templateId":"t","requestId":12})"),
            "line 3: field \"requestId\": expected a string of 1 to 128 characters of A-Z a-z 0-9 "
            ". _ : -, found number");
}

TEST(RequestErrors, NameAndDescription) {
  EXPECT_EQ(refused(R"({"templateId":"t","name":1})"),
            "line 3: field \"name\": expected a string, found number");
  EXPECT_EQ(refused(R"({"templateId":"t","description":{}})"),
            "line 3: field \"description\": expected a string, found object");
}

TEST(RequestErrors, DataSourceAndDestination) {
  EXPECT_EQ(refused(R"({"templateId":"t","dataSource":"url"})"),
            "line 3: field \"dataSource\": expected an object, found string");
  EXPECT_EQ(refused(R"({"templateId":"t","dataDestination":[]})"),
            "line 3: field \"dataDestination\": expected an object, found array");
  EXPECT_EQ(refused(R"({"templateId":"t","dataSource":{"params":{}}})"),
            "line 3: field \"dataSource.dataSourceDescriptor\": required field is missing: "
            "expected a string such as \"url\" or \"bypass\"");
  EXPECT_EQ(refused(R"({"templateId":"t","dataDestination":{"dataSourceDescriptor":3}})"),
            "line 3: field \"dataDestination.dataSourceDescriptor\": expected a non-empty string "
            "such as \"url\" or \"bypass\", found number");
  EXPECT_EQ(refused(R"({"templateId":"t","dataSource":{"dataSourceDescriptor":""}})"),
            "line 3: field \"dataSource.dataSourceDescriptor\": expected a non-empty string such "
            "as \"url\" or \"bypass\", found an empty string");
}

// A "file" data source without inputFile would run a job with no input at all.
TEST(RequestErrors, AFileDataSourceNeedsItsInputFileAndNothingElseTakesOne) {
  EXPECT_EQ(refused(R"({"templateId":"t","dataSource":{"dataSourceDescriptor":"file"}})"),
            "line 3: field \"dataSource.dataSourceDescriptor\": a \"file\" data source uploads a local file: "
            "name it in \"inputFile\" (without it the job would run with no input)");
  EXPECT_EQ(refused(R"({"templateId":"t","inputFile":"in.bin","dataSource":{"dataSourceDescriptor":"url"}})"),
            "line 3: field \"inputFile\": is for a \"file\" data source, and this dataSource is another kind");
  EXPECT_EQ(refused(R"({"templateId":"t","inputFile":"in.bin"})"),
            "line 3: field \"inputFile\": is for a \"file\" data source, and the request has no dataSource");
  EXPECT_EQ(refused(R"({"templateId":"t","inputFile":"","dataSource":{"dataSourceDescriptor":"file"}})"),
            "line 3: field \"inputFile\": expected a local file's path, found an empty string");
  EXPECT_EQ(refused(R"({"templateId":"t","inputFile":7,"dataSource":{"dataSourceDescriptor":"file"}})"),
            "line 3: field \"inputFile\": expected a non-empty string (a local file's path), found number");
  // A complete one is well formed; whether the file may be uploaded is RequestParser's
  // check against the upload rules (below).
  EXPECT_EQ(accepted(R"({"templateId":"t","inputFile":"in.bin","dataSource":{"dataSourceDescriptor":"file"}})")
                .input_file,
            "in.bin");
  // Only the source's descriptor asks for an input file; a "file" destination is the API's
  // business, and a null inputFile is absent.
  EXPECT_TRUE(accepted(R"({"templateId":"t","dataDestination":{"dataSourceDescriptor":"file"},"inputFile":null})")
                  .input_file.empty());
}

TEST(RequestErrors, ParamsAndConfigMustBeObjects) {
  EXPECT_EQ(refused(R"({"templateId":"t","params":"x"})"),
            "line 3: field \"params\": expected an object, found string");
  EXPECT_EQ(refused(R"({"templateId":"t","config":true})"),
            "line 3: field \"config\": expected an object, found boolean");
}

TEST(RequestErrors, ConfigFields) {
  const std::string timeout =
      "line 3: field \"config.taskTimeout\": expected a non-negative integer (seconds), found ";
  EXPECT_EQ(refused(R"({"templateId":"t","config":{"taskTimeout":-5}})"), timeout + "-5");
  EXPECT_EQ(refused(R"({"templateId":"t","config":{"taskTimeout":3.5}})"), timeout + "3.5");
  EXPECT_EQ(refused(R"({"templateId":"t","config":{"taskTimeout":"10"}})"), timeout + "string");
  EXPECT_EQ(refused(R"({"templateId":"t","config":{"taskTimeout":99999999999999999999}})"),
            timeout + "99999999999999999999");
  EXPECT_EQ(
      refused(R"({"templateId":"t","config":{"jobTimeout":1e3}})"),
      "line 3: field \"config.jobTimeout\": expected a non-negative integer (seconds), found 1e3");
  EXPECT_EQ(refused(R"({"templateId":"t","config":{"isTestJob":"true"}})"),
            "line 3: field \"config.isTestJob\": expected true or false, found string");
  EXPECT_EQ(refused(R"({"templateId":"t","config":{"isTestJob":1}})"),
            "line 3: field \"config.isTestJob\": expected true or false, found number");
}

TEST(RequestErrors, DuplicateKeysAnywhere) {
  const std::string dup = "duplicate key: each key may appear only once in an object";
  EXPECT_EQ(refused(R"({"templateId":"t","templateId":"u"})"),
            "line 3: field \"templateId\": " + dup);
  EXPECT_EQ(refused(R"({"templateId":"t","x":1,"x":2})"), "line 3: field \"x\": " + dup);
  EXPECT_EQ(refused(R"({"templateId":"t","params":{"app":{"prompt":"a","\u0070rompt":"b"}}})"),
            "line 3: field \"params.app.prompt\": " + dup);
  EXPECT_EQ(refused(R"({"templateId":"t","params":{"a":[{"k":1,"k":1}]}})"),
            "line 3: field \"params.a[0].k\": " + dup);
  EXPECT_EQ(refused(R"({"templateId":"t","config":{"isTestJob":true,"isTestJob":false}})"),
            "line 3: field \"config.isTestJob\": " + dup);
  // The same key in sibling objects is fine.
  EXPECT_EQ(testing::accepted(R"({"templateId":"t","params":{"a":{"k":1},"b":{"k":1},"k":1}})")
                .params_json,
            R"({"a":{"k":1},"b":{"k":1},"k":1})");
}

TEST(RequestErrors, NotAnObject) {
  EXPECT_EQ(refused("[1]"), "line 3: expected a JSON object, found array");
  EXPECT_EQ(refused("42"), "line 3: expected a JSON object, found number");
  EXPECT_EQ(refused("\"t\""), "line 3: expected a JSON object, found string");
  EXPECT_EQ(refused("null"), "line 3: expected a JSON object, found null");
}

TEST(RequestErrors, EmptyInput) {
  EXPECT_EQ(refused(""), "line 3: empty input: expected a JSON object");
  EXPECT_EQ(refused(" \r\n\t"), "line 3: empty input: expected a JSON object");
  EXPECT_EQ(refused("\xEF\xBB\xBF"), "line 3: empty input: expected a JSON object");
}

TEST(RequestErrors, TrailingContent) {
  EXPECT_EQ(refused(R"({"templateId":"t"} {"templateId":"u"})"),
            "line 3: trailing content after the JSON object at byte 20");
  EXPECT_EQ(refused(R"({"templateId":"t"} x)"),
            "line 3: trailing content after the JSON object at byte 20");
  EXPECT_EQ(refused(R"({"templateId":"t"}})"),
            "line 3: trailing content after the JSON object at byte 19");
}

TEST(RequestErrors, NotValidUtf8) {
  EXPECT_EQ(refused("{\"templateId\":\"t\xC3(\"}"),
            "line 3: not valid UTF-8: invalid byte sequence at byte 17");
  EXPECT_EQ(refused("\xEF\xBB\xBF{\"templateId\":\"\xFF\"}"),
            "line 3: not valid UTF-8: invalid byte sequence at byte 19");
}

TEST(RequestErrors, NotValidJson) {
  const std::string structure =
      "line 3: not valid JSON: The JSON document has an improper structure: missing or superfluous "
      "commas, braces, "
      "missing keys, etc. near byte ";
  EXPECT_EQ(refused(R"({"templateId":"t",})"), structure + "19");
  EXPECT_EQ(refused(R"({"templateId" "t"})"), structure + "15");
  EXPECT_EQ(refused(R"({"templateId":"t","params":{"x":[1,2,]}})"), structure + "38");
  EXPECT_EQ(
      refused(R"({"templateId":"t")"),
      "line 3: not valid JSON: JSON document ended early in the middle of an object or array.");
  EXPECT_EQ(refused(R"({"templateId":"t","p":"open})"),
            "line 3: not valid JSON: A string is opened, but never closed.");
  EXPECT_EQ(refused(R"({"templateId": tru})"),
            "line 3: not valid JSON: invalid literal (expected true, false or null) near byte 16");
  EXPECT_EQ(refused(R"({"templateId":"t","params":{"x":nul}})"),
            "line 3: not valid JSON: invalid literal (expected true, false or null) near byte 33");
  EXPECT_EQ(refused(R"({"templateId":"t","config":{"isTestJob":fals}})"),
            "line 3: not valid JSON: invalid literal (expected true, false or null) near byte 41");
  EXPECT_EQ(refused(R"({"templateId":"t","params":{"x":"\q"}})"),
            "line 3: not valid JSON: Problem while parsing a string near byte 33");
  for (std::string number : {"01", "-", "1.", "1e", "-.5", "1e+"})
    EXPECT_EQ(refused(R"({"templateId":"t","params":{"x":)" + number + "}}"),
              "line 3: not valid JSON: Problem while parsing a number near byte 33")
        << number;
  // Not even the start of a JSON value:
  EXPECT_EQ(refused(R"({"templateId":"t","params":{"x":+1}})"), structure + "33");
  EXPECT_EQ(
      refused("{\"templateId\":\"a\tb\"}"),
      "line 3: not valid JSON: a control character inside a string must be escaped near byte 17");
}

TEST(RequestErrors, NestingIsBounded) {
  std::string deep = std::string(70, '[') + std::string(70, ']');
  std::string message = refused(R"({"templateId":"t","params":{"x":)" + deep + "}}");
  EXPECT_EQ(message.rfind("line 3: field \"params.x[0][0]", 0), 0u) << message;
  EXPECT_EQ(message.substr(message.size() - 31), "\": nested deeper than 64 levels");
}

TEST(RequestErrors, FieldNamesInMessagesAreMadePrintable) {
  EXPECT_EQ(
      refused(R"({"templateId":"t","params":{"a\nb":1,"a\nb":2}})"),
      "line 3: field \"params.a?b\": duplicate key: each key may appear only once in an object");
}

TEST(JsonText, PrintableKeysForMessages) {
  auto printable = [](std::string_view key) {
    std::string out = "path.";
    append_printable(out, key);
    return out;
  };
  EXPECT_EQ(printable("templateId"), "path.templateId");
  EXPECT_EQ(printable("a\nb\x7f"), "path.a?b?");
  EXPECT_EQ(printable("say \"hi\" \\ bye"), "path.say \\\"hi\\\" \\\\ bye");
  EXPECT_EQ(printable(std::string(64, 'k')), "path." + std::string(64, 'k'));
  EXPECT_EQ(printable(std::string(65, 'k')), "path." + std::string(64, 'k') + "...");
  EXPECT_EQ(printable(std::string(70, '"')), "path." + [] {
    std::string escaped;
    for (int i = 0; i < 64; ++i) escaped += "\\\"";
    return escaped;
  }() + "...");
}

TEST(JsonText, NumberGrammar) {
  for (const char* good :
       {"0", "-0", "12", "1.5", "-1.5e10", "1E+2", "1e-2", "123456789012345678901234567890"})
    EXPECT_TRUE(is_json_number(good)) << good;
  for (const char* bad : {"", "-", "01", "1.", ".1", "1e", "1e+", "+1", "1x", "NaN", "0x1", "--1"})
    EXPECT_FALSE(is_json_number(bad)) << bad;
}

TEST(JsonText, ValueEndAndUtf8Position) {
  EXPECT_EQ(json_value_end(R"( {"a":"}"} x)"), 10u);
  EXPECT_EQ(json_value_end(R"({"a":[1,2]})"), 11u);
  EXPECT_EQ(json_value_end(R"({"a":1)"), std::string_view::npos);
  EXPECT_EQ(first_invalid_utf8("ok\xE2\x82"), 2u);
  EXPECT_EQ(first_invalid_utf8("ok"), std::string_view::npos);
  EXPECT_EQ(first_unescaped_control("\"a\x01\""), 2u);
}

}  // namespace
}  // namespace submitd::spool
