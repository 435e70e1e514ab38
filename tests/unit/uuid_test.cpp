// Role: UUID v5 must match RFC 4122 / other implementations, or jobIds would differ from
// what any other tool derives for the same claim.
#include "util/uuid.hpp"

#include <gtest/gtest.h>

using submitd::Uuid;

TEST(Uuid, V5MatchesKnownVector) {
  // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org") == 886313e1-3b8a-5372-9b90-0c9aee199e5d
  auto dns = Uuid::parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8");
  ASSERT_TRUE(dns);
  EXPECT_EQ(submitd::uuid_v5(*dns, "python.org").str(), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
}

TEST(Uuid, V5IsStableAndNameSensitive) {
  auto ns = submitd::uuid_v4_random();
  EXPECT_EQ(submitd::uuid_v5(ns, "abc:1"), submitd::uuid_v5(ns, "abc:1"));
  EXPECT_NE(submitd::uuid_v5(ns, "abc:1"), submitd::uuid_v5(ns, "abc:2"));
}

TEST(Uuid, V4HasVersionAndVariantBits) {
  auto id = submitd::uuid_v4_random();
  EXPECT_EQ(id.bytes[6] >> 4, 4);
  EXPECT_EQ(id.bytes[8] & 0xC0, 0x80);
  EXPECT_NE(id, submitd::uuid_v4_random());
}

TEST(Uuid, ParseRejectsMalformed) {
  EXPECT_FALSE(Uuid::parse(""));
  EXPECT_FALSE(Uuid::parse("6ba7b810-9dad-11d1-80b4-00c04fd430c"));
  EXPECT_FALSE(Uuid::parse("6ba7b810x9dad-11d1-80b4-00c04fd430c8"));
  EXPECT_FALSE(Uuid::parse("6ba7b810-9dad-11d1-80b4-00c04fd430cg"));
  auto id = Uuid::parse("6BA7B810-9DAD-11D1-80B4-00C04FD430C8");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->str(), "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
}
