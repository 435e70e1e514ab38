// Role: the control socket's connection limits as plain decisions (control/connection_limit.hpp):
// the cap bounded by the descriptors left after the reserve, the 503 a connection past it
// gets, and one log line per spell of failing accepts.
#include "control/connection_limit.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace std::chrono_literals;
using namespace submitd;
using namespace submitd::control;

TEST(ConnectionCap, TheConfiguredCapWhileTheDescriptorsLeaveRoom) {
  auto cap = connection_cap(256, 65536, 256);
  EXPECT_EQ(cap.cap, 256u);
  EXPECT_FALSE(cap.bounded_by_descriptors);
  EXPECT_EQ(connection_cap(256, 512, 256).cap, 256u);  // exactly enough
  EXPECT_FALSE(connection_cap(256, 512, 256).bounded_by_descriptors);
}

// 1,100 idle clients once took all 1,024 descriptors and the spool scan failed.
TEST(ConnectionCap, BoundedByWhatTheReserveLeaves) {
  auto cap = connection_cap(2000, 1024, 256);
  EXPECT_EQ(cap.cap, 768u);
  EXPECT_TRUE(cap.bounded_by_descriptors);
  EXPECT_EQ(connection_cap(256, 300, 256).cap, 44u);
}

TEST(ConnectionCap, NeverBelowAFewSoTheCliStillGetsIn) {
  EXPECT_EQ(connection_cap(256, 128, 256).cap, kMinConnectionCap);
  EXPECT_TRUE(connection_cap(256, 128, 256).bounded_by_descriptors);
  EXPECT_EQ(connection_cap(256, 258, 256).cap, kMinConnectionCap);
  // A smaller configured cap stays as configured.
  EXPECT_EQ(connection_cap(1, 128, 256).cap, 1u);
  EXPECT_FALSE(connection_cap(1, 128, 256).bounded_by_descriptors);
}

TEST(BusyResponse, A503WithRetryAfterAndAJsonErrorThatClosesTheConnection) {
  std::string r = busy_response(256);
  ASSERT_EQ(r.rfind("HTTP/1.1 503 ", 0), 0u) << r;
  auto head_end = r.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  std::string head = r.substr(0, head_end + 2);
  std::string body = r.substr(head_end + 4);
  EXPECT_NE(head.find("\r\nRetry-After: " + std::to_string(kBusyRetryAfterSeconds) + "\r\n"), std::string::npos);
  EXPECT_NE(head.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_NE(head.find("\r\nContent-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(head.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
  EXPECT_EQ(body.rfind("{\"error\":\"", 0), 0u) << body;
  EXPECT_NE(body.find("256 connections"), std::string::npos) << body;
}

TEST(AcceptTrouble, FirstFailureOfASpellLoggedThenOnceAMinute) {
  ManualClock clock;
  AcceptTrouble trouble(60s);
  EXPECT_FALSE(trouble.succeeded());  // no spell: nothing to say
  EXPECT_EQ(trouble.failed(clock.now()), 0u);
  for (int i = 0; i < 599; ++i) {  // a minute of retries every 100 ms
    clock.advance(100ms);
    EXPECT_FALSE(trouble.failed(clock.now()));
  }
  clock.advance(100ms);
  EXPECT_EQ(trouble.failed(clock.now()), 599u);
  EXPECT_EQ(trouble.succeeded(), 601u);  // the spell's end, once
  EXPECT_FALSE(trouble.succeeded());
  // A new spell soon after is logged at once, not held back by the last one's minute.
  clock.advance(1s);
  EXPECT_EQ(trouble.failed(clock.now()), 0u);
}
