// Validation rules and their messages, one by one.
#include "request_validation.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace emulator {
namespace {

namespace json = boost::json;

std::string problem(std::string_view endpoint, Direction dir) {
  auto p = check_data_endpoint(json::parse(endpoint), dir,
                               dir == Direction::input ? "dataSource" : "dataDestination");
  return p ? *p : std::string("OK");
}

TEST(RequestValidation, Uuids) {
  EXPECT_TRUE(is_uuid("0b9e4b5e-1111-4222-8333-444455556666"));
  EXPECT_TRUE(is_uuid("0B9E4B5E-1111-5222-8333-444455556666"));
  EXPECT_FALSE(is_uuid("0b9e4b5e11114222833344445555666677"));
  EXPECT_FALSE(is_uuid("0b9e4b5e-1111-4222-8333-44445555666g"));
  EXPECT_FALSE(is_uuid("0b9e4b5e-1111-4222-8333-4444555566667"));
  EXPECT_FALSE(is_uuid(""));
}

TEST(RequestValidation, AcceptedDescriptorsByDirection) {
  for (const char* d : {"url", "file", "bypass", "s3", "aws", "gcp", "storj"}) {
    std::string e = std::string(R"({"dataSourceDescriptor":")") + d + R"(","params":{)" +
                    R"("url":"https://x/y","bucketName":"b"}})";
    EXPECT_EQ(problem(e, Direction::input), "OK") << d;
  }
  for (const char* d : {"bucket", "bypass", "s3", "aws", "gcp", "storj"}) {
    std::string e =
        std::string(R"({"dataSourceDescriptor":")") + d + R"(","params":{"bucketName":"b"}})";
    EXPECT_EQ(problem(e, Direction::output), "OK") << d;
  }
  EXPECT_EQ(problem(R"({"dataSourceDescriptor":"bucket","params":{}})", Direction::output), "OK");
}

TEST(RequestValidation, MessagesSayWhatToChange) {
  EXPECT_EQ(problem(R"({"dataSourceDescriptor":"bucket"})", Direction::input),
            "dataSource.dataSourceDescriptor \"bucket\" is output-only: use it in "
            "dataDestination; inputs accept url, file, bypass, s3, aws, gcp, storj");
  EXPECT_EQ(problem(R"({"dataSourceDescriptor":"file"})", Direction::output),
            "dataDestination.dataSourceDescriptor \"file\" is input-only: use it in "
            "dataSource; outputs accept bucket, bypass, s3, aws, gcp, storj");
  EXPECT_EQ(problem("null", Direction::output),
            "dataDestination is required: give {\"dataSourceDescriptor\": ...} with one of "
            "bucket, bypass, s3, aws, gcp, storj");
  EXPECT_EQ(problem(R"("url")", Direction::input), "dataSource must be an object, got a string");
  EXPECT_EQ(problem(R"({})", Direction::input),
            "dataSource.dataSourceDescriptor is required (one of url, file, bypass, s3, aws, "
            "gcp, storj)");
  EXPECT_EQ(problem(R"({"dataSourceDescriptor":"URL"})", Direction::input),
            "dataSource.dataSourceDescriptor \"URL\" is not supported; use one of url, file, "
            "bypass, s3, aws, gcp, storj");
  EXPECT_EQ(
      problem(R"({"dataSourceDescriptor":"url","params":{"url":"ftp://x"}})", Direction::input),
      "dataSource.params.url must be an http:// or https:// URL");
  EXPECT_EQ(problem(R"({"dataSourceDescriptor":"url","params":{"url":5}})", Direction::input),
            "dataSource.params.url is required for the \"url\" descriptor (a public or "
            "pre-signed http(s) URL)");
  EXPECT_EQ(problem(R"({"dataSourceDescriptor":"bypass","params":[]})", Direction::input),
            "dataSource.params must be an object, got an array");
  EXPECT_NE(problem(R"({"dataSourceDescriptor":"url","params":{"url":"https://x",)"
                    R"("@type":"type.googleapis.com/bytenite.data_source.S3DataSource"}})",
                    Direction::input)
                .find("@type"),
            std::string::npos);
  EXPECT_NE(problem(R"({"dataSourceDescriptor":"gcp","params":{}})", Direction::output)
                .find("bucketName is required"),
            std::string::npos);
}

TEST(RequestValidation, RunConfigNormalisesNumbersToStrings) {
  auto c = check_run_config(json::parse(R"({"taskTimeout":3600,"jobTimeout":"86400",)"
                                        R"("isTestJob":"true","config":{"x":1}})")
                                .as_object());
  ASSERT_TRUE(c) << c.error;
  EXPECT_EQ(c.value->at("taskTimeout"), "3600");
  EXPECT_EQ(c.value->at("jobTimeout"), "86400");
  EXPECT_EQ(c.value->at("isTestJob"), true);

  auto empty = check_run_config({});
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty.value->at("taskTimeout").is_null());

  EXPECT_FALSE(check_run_config(json::parse(R"({"taskTimeout":-1})").as_object()));
  EXPECT_FALSE(check_run_config(json::parse(R"({"jobTimeout":1.5})").as_object()));
  EXPECT_FALSE(check_run_config(json::parse(R"({"isTestJob":"yes"})").as_object()));
}

TEST(RequestValidation, ParamsPartsMustBeObjects) {
  auto ok = check_params_patch(
      json::parse(R"({"app":{"a":1},"partitioner":null,"other":5})").as_object());
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok.value->contains("app"));
  EXPECT_FALSE(ok.value->contains("partitioner"));
  EXPECT_FALSE(ok.value->contains("other"));
  auto bad = check_params_patch(json::parse(R"({"assembler":[1]})").as_object());
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error, "assembler must be a JSON object, got an array");
}

TEST(RequestValidation, Int64FromNumberOrString) {
  EXPECT_EQ(as_int64(json::value(42)), 42);
  EXPECT_EQ(as_int64(json::value("42")), 42);
  EXPECT_FALSE(as_int64(json::value("42s")));
  EXPECT_FALSE(as_int64(json::value("")));
  EXPECT_FALSE(as_int64(json::value(1.5)));
}

}  // namespace
}  // namespace emulator

namespace emulator {
namespace {

TEST(RequestValidation, QueryDecoding) {
  auto q = decode_query("pagination.limit=2&pagination%2Eoffset=4&&flag&name=a+b%21&bad=%zz");
  ASSERT_EQ(q.size(), 5u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"pagination.limit", "2"}));
  EXPECT_EQ(q[1], (std::pair<std::string, std::string>{"pagination.offset", "4"}));
  EXPECT_EQ(q[2], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ(q[3], (std::pair<std::string, std::string>{"name", "a b!"}));
  EXPECT_EQ(q[4], (std::pair<std::string, std::string>{"bad", "%zz"}));
  EXPECT_TRUE(decode_query("").empty());
}

}  // namespace
}  // namespace emulator
