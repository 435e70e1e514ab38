// Role: the API-health rule: not known to answer before the first call; answering on any
// HTTP status below 500 (a refusal is an answer) but a redirect (the API moved, or something
// in front of it answers: configuration trouble); otherwise the trouble names the status or
// the transport failure, and the latest call decides.
#include "api/api_health.hpp"

#include <gtest/gtest.h>

using namespace submitd::api;

namespace {

HttpResult status(int code) {
  HttpResult r;
  r.status = code;
  return r;
}

HttpResult failed(TransportFailure f) {
  HttpResult r;
  r.failure = f;
  r.failure_detail = "details stay in the logs";
  return r;
}

}  // namespace

TEST(ApiHealth, NoCallYetIsTrouble) {
  ApiHealth health;
  EXPECT_FALSE(health.answering());
  EXPECT_EQ(health.trouble(), "no call yet");
}

TEST(ApiHealth, AnyStatusBelow500ButARedirectIsAnswering) {
  for (int code : {200, 201, 204, 400, 401, 404, 429, 499}) {
    ApiHealth health;
    health.observe(status(code));
    EXPECT_TRUE(health.answering()) << code;
    EXPECT_EQ(health.trouble(), "") << code;
  }
}

TEST(ApiHealth, ARedirectIsTroubleNamingTheStatus) {
  for (int code : {301, 302, 307, 308}) {
    ApiHealth health;
    health.observe(status(code));
    EXPECT_FALSE(health.answering()) << code;
    EXPECT_EQ(health.trouble(), "HTTP " + std::to_string(code));
  }
}

TEST(ApiHealth, ServerErrorNamesTheStatus) {
  ApiHealth health;
  health.observe(status(500));
  EXPECT_FALSE(health.answering());
  EXPECT_EQ(health.trouble(), "HTTP 500");
  health.observe(status(503));
  EXPECT_EQ(health.trouble(), "HTTP 503");
}

TEST(ApiHealth, TransportFailureNamesTheFailure) {
  ApiHealth health;
  health.observe(failed(TransportFailure::timeout));
  EXPECT_FALSE(health.answering());
  EXPECT_EQ(health.trouble(), "timeout");
  health.observe(failed(TransportFailure::certificate));
  EXPECT_EQ(health.trouble(), std::string(transport_failure_name(TransportFailure::certificate)));
}

TEST(ApiHealth, TheLatestCallDecides) {
  ApiHealth health;
  health.observe(failed(TransportFailure::connect));
  health.observe(status(200));
  EXPECT_TRUE(health.answering());
  EXPECT_EQ(health.trouble(), "");
  health.observe(status(502));
  EXPECT_FALSE(health.answering());
  EXPECT_EQ(health.trouble(), "HTTP 502");
  health.observe(status(404));
  EXPECT_TRUE(health.answering());
}
