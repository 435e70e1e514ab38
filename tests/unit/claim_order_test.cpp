// Role: the claim order: announced (new) files and the oldest backlog files alternate, so
// neither starves the other; names are never offered twice; announcements are bounded.
#include "spool/claim_order.hpp"

#include <gtest/gtest.h>

using submitd::spool::ClaimOrder;
using Names = std::vector<std::string>;

TEST(ClaimOrder, NewAndOldAlternate) {
  ClaimOrder order;
  order.announced("new-1");
  order.announced("new-2");
  order.scanned({"old-1", "old-2", "old-3"});
  EXPECT_EQ(order.next(4), (Names{"new-1", "old-1", "new-2", "old-2"}));
  EXPECT_EQ(order.backlog_kept(), 1u);
}

TEST(ClaimOrder, TurnsCarryOverBetweenCalls) {
  ClaimOrder order;
  order.announced("new-1");
  order.announced("new-2");
  order.scanned({"old-1", "old-2"});
  EXPECT_EQ(order.next(1), (Names{"new-1"}));
  // The next free slot goes to the backlog, then to the newcomers again.
  EXPECT_EQ(order.next(2), (Names{"old-1", "new-2"}));
}

TEST(ClaimOrder, EitherSideAloneFillsTheCapacity) {
  ClaimOrder order;
  order.scanned({"a", "b", "c"});
  EXPECT_EQ(order.next(2), (Names{"a", "b"}));
  order.announced("x");
  order.announced("y");
  order.scanned({});
  EXPECT_EQ(order.next(5), (Names{"x", "y"}));
  EXPECT_TRUE(order.next(5).empty());
}

TEST(ClaimOrder, ANameIsOfferedOnce) {
  ClaimOrder order;
  order.announced("same");
  order.announced("same");  // inotify can report a file twice (close-write, then move)
  EXPECT_EQ(order.announced_count(), 1u);
  order.scanned({"same", "other"});
  EXPECT_EQ(order.next(5), (Names{"same", "other"}));
}

TEST(ClaimOrder, AnnouncementsAreBounded) {
  ClaimOrder order(3);
  for (int i = 0; i < 10; ++i) order.announced("n" + std::to_string(i));
  EXPECT_EQ(order.announced_count(), 3u);
  EXPECT_EQ(order.next(10), (Names{"n7", "n8", "n9"}));
}

// A file that cannot be claimed (its claim failed, it is still there) rests: it is not offered
// again until its rest is over, so it cannot take a claim slot from files that can be claimed.
TEST(ClaimOrder, AFailedClaimRestsThenIsTriedAgain) {
  ClaimOrder order(16, std::chrono::seconds(60));
  const submitd::MonoTime t0{std::chrono::hours(1)};
  order.announced("stuck");
  order.claim_failed("stuck", t0);
  EXPECT_TRUE(order.resting("stuck"));
  EXPECT_EQ(order.resting_count(), 1u);
  order.scanned({"stuck", "ok"});
  EXPECT_EQ(order.next(2), (Names{"ok"}));  // neither announced nor from the scan
  order.wake_rested(t0 + std::chrono::seconds(59));
  EXPECT_TRUE(order.resting("stuck"));
  order.wake_rested(t0 + std::chrono::seconds(60));
  EXPECT_FALSE(order.resting("stuck"));
  order.scanned({"stuck", "ok"});
  EXPECT_EQ(order.next(2), (Names{"stuck", "ok"}));
}

TEST(ClaimOrder, RestingNamesAreBounded) {
  ClaimOrder order(3, std::chrono::seconds(60));
  const submitd::MonoTime t0{std::chrono::hours(1)};
  for (int i = 0; i < 5; ++i) order.claim_failed("f" + std::to_string(i), t0 + std::chrono::seconds(i));
  EXPECT_EQ(order.resting_count(), 3u);
  EXPECT_FALSE(order.resting("f0"));  // the longest resting were let go first
  EXPECT_FALSE(order.resting("f1"));
  EXPECT_TRUE(order.resting("f4"));
}

// The kept backlog is handed out over several claims without a new scan, oldest first, and a
// new scan replaces what was left.
TEST(ClaimOrder, AScanIsKeptForLaterClaims) {
  ClaimOrder order;
  order.scanned({"a", "b", "c", "d"});
  EXPECT_EQ(order.next(1), (Names{"a"}));
  EXPECT_EQ(order.next(2), (Names{"b", "c"}));
  EXPECT_EQ(order.backlog_kept(), 1u);
  order.scanned({"d", "e"});
  EXPECT_EQ(order.next(5), (Names{"d", "e"}));
  EXPECT_EQ(order.backlog_kept(), 0u);
}
