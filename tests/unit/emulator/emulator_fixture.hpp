// EmulatorFixture: drives an Emulator through ApiRequest/ApiResponse with a ManualClock, so
// the job endpoints are tested without sockets and without sleeping.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string>

#include "clock.hpp"
#include "emulator.hpp"

namespace emulator::testing {

namespace json = boost::json;

struct Reply {
  int status = 0;
  json::value body;
  ApiResponse raw;
  const json::object& obj() const { return body.as_object(); }
  std::string str(std::string_view key) const { return std::string(obj().at(key).as_string()); }
};

class EmulatorFixture : public ::testing::Test {
 protected:
  static constexpr const char* job_a = "0b9e4b5e-1111-4222-8333-444455556666";
  static constexpr const char* job_b = "7728ba38-2222-4333-9444-555566667777";

  void SetUp() override { start(EmulatorSettings{}); }

  void start(EmulatorSettings settings) {
    emu_ = std::make_unique<Emulator>(std::move(settings), clock_);
    token_ = exchange("demo-key").str("token");
  }

  Reply call(std::string_view method, const std::string& target, std::string_view body = "",
             std::optional<std::string> authorization = std::nullopt) {
    const std::string auth = authorization ? *authorization : token_;
    ApiRequest req{method, target, auth, body, true};
    Reply r;
    r.raw = emu_->handle(req);
    r.status = r.raw.status;
    if (!r.raw.body.empty()) {
      json::error_code ec;
      r.body = json::parse(r.raw.body, ec);
      EXPECT_FALSE(ec) << "answer is not JSON: " << r.raw.body;
    }
    return r;
  }

  Reply exchange(std::string_view key) {
    json::object o;
    o["apiKey"] = key;
    return call("POST", "/v1/auth/access_token", json::serialize(o), "");
  }

  std::string jobs(const std::string& suffix = "") { return "/v1/customer/jobs" + suffix; }
  std::string job(const std::string& id, const std::string& action = "") {
    return "/v1/customer/jobs/" + id + (action.empty() ? "" : "/" + action);
  }

  Reply create(const std::string& template_id, const std::string& job_id = "",
               const std::string& name = "") {
    json::object o;
    o["templateId"] = template_id;
    if (!job_id.empty()) o["jobId"] = job_id;
    if (!name.empty()) o["name"] = name;
    return call("POST", jobs(), json::serialize(o));
  }

  Reply set_bypass(const std::string& id) {
    return call("PATCH", job(id, "datasource"),
                R"({"dataSource":{"dataSourceDescriptor":"bypass"},)"
                R"("dataDestination":{"dataSourceDescriptor":"bucket"}})");
  }

  Reply run(const std::string& id, std::string_view body = "{}") {
    return call("POST", job(id, "run"), body);
  }

  // create + datasource + run, asserting each step.
  void launch(const std::string& template_id, const std::string& id) {
    ASSERT_EQ(create(template_id, id).status, 200);
    ASSERT_EQ(set_bypass(id).status, 200);
    ASSERT_EQ(run(id).status, 200);
  }

  std::string state_of(const std::string& id) {
    Reply r = call("GET", job(id));
    EXPECT_EQ(r.status, 200) << r.raw.body;
    return std::string(r.obj().at("job").at("state").as_string());
  }

  json::object ledger() {
    Reply r = call("GET", "/_emulator/ledger");
    EXPECT_EQ(r.status, 200);
    return r.obj();
  }

  json::object ledger_job(const std::string& id) {
    const json::object all = ledger();  // keep it alive while we iterate
    for (const auto& j : all.at("jobs").as_array())
      if (j.at("id") == json::value(id)) return j.as_object();
    ADD_FAILURE() << "job " << id << " not in ledger";
    return {};
  }

  // A JSON string value, for comparing with std::string in EXPECT_EQ.
  static json::value js(std::string_view s) { return json::value(s); }
  static std::int64_t n(const json::value& v) { return v.to_number<std::int64_t>(); }

  ManualClock clock_;
  std::unique_ptr<Emulator> emu_;
  std::string token_;
};

// An RPC-status error answer: the HTTP status, the gRPC code, details, and part of the message.
inline void expect_rpc_status(const Reply& r, int http, int code, std::string_view message_part = "") {
  EXPECT_EQ(r.status, http) << r.raw.body;
  ASSERT_TRUE(r.body.is_object()) << r.raw.body;
  EXPECT_EQ(r.obj().at("code").as_int64(), code) << r.raw.body;
  EXPECT_TRUE(r.obj().at("details").is_array());
  if (!message_part.empty()) {
    EXPECT_NE(std::string(r.obj().at("message").as_string()).find(message_part), std::string::npos)
        << r.raw.body;
  }
}

}  // namespace emulator::testing
