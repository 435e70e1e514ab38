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
  Names backlog{"old-1", "old-2", "old-3"};
  EXPECT_EQ(order.next(backlog, 4), (Names{"new-1", "old-1", "new-2", "old-2"}));
}

TEST(ClaimOrder, TurnsCarryOverBetweenCalls) {
  ClaimOrder order;
  order.announced("new-1");
  order.announced("new-2");
  Names backlog{"old-1", "old-2"};
  EXPECT_EQ(order.next(backlog, 1), (Names{"new-1"}));
  // The next free slot goes to the backlog, then to the newcomers again.
  EXPECT_EQ(order.next(backlog, 2), (Names{"old-1", "new-2"}));
}

TEST(ClaimOrder, EitherSideAloneFillsTheCapacity) {
  ClaimOrder order;
  EXPECT_EQ(order.next({"a", "b", "c"}, 2), (Names{"a", "b"}));
  order.announced("x");
  order.announced("y");
  EXPECT_EQ(order.next({}, 5), (Names{"x", "y"}));
  EXPECT_TRUE(order.next({}, 5).empty());
}

TEST(ClaimOrder, ANameIsOfferedOnce) {
  ClaimOrder order;
  order.announced("same");
  order.announced("same");  // inotify can report a file twice (close-write, then move)
  EXPECT_EQ(order.announced_count(), 1u);
  EXPECT_EQ(order.next({"same", "other"}, 5), (Names{"same", "other"}));
}

TEST(ClaimOrder, AnnouncementsAreBounded) {
  ClaimOrder order(3);
  for (int i = 0; i < 10; ++i) order.announced("n" + std::to_string(i));
  EXPECT_EQ(order.announced_count(), 3u);
  EXPECT_EQ(order.next({}, 10), (Names{"n7", "n8", "n9"}));
}
