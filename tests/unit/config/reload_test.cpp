// Role: the SIGHUP reload plan: live changes are recognised, and every start-only key that
// changed is named (so the daemon can say what it could not apply).
#include "config/reload.hpp"

#include <gtest/gtest.h>

#include "config/load.hpp"

namespace submitd::config {
namespace {

const std::string kBase = "[spool]\ndir = \"/var/spool/submitd\"\n";

TEST(ReloadPlan, NothingChangedNothingToDo) {
  Settings s = parse_settings(kBase, "<a>");
  auto plan = plan_reload(s, parse_settings(kBase, "<b>"));
  EXPECT_FALSE(plan.log_level || plan.pacing || plan.retry_timing);
  EXPECT_TRUE(plan.needs_restart.empty());
}

TEST(ReloadPlan, LiveChangesAreRecognised) {
  Settings s = parse_settings(kBase, "<a>");
  auto plan = plan_reload(s, parse_settings("[api]\nrate_limit_per_second = 50\nretry_cap_ms = 5000\n" + kBase +
                                                "[log]\nlevel = \"debug\"\n",
                                            "<b>"));
  EXPECT_TRUE(plan.log_level);
  EXPECT_TRUE(plan.pacing);
  EXPECT_TRUE(plan.retry_timing);
  EXPECT_TRUE(plan.needs_restart.empty());
}

TEST(ReloadPlan, StartOnlyKeysAreNamed) {
  Settings s = parse_settings(kBase, "<a>");
  auto plan = plan_reload(s, parse_settings("[api]\nconnections = 8\nmax_inflight = 10\nadaptive = false\n"
                                            "[spool]\ndir = \"/srv/other\"\n[metrics]\nlisten = \"\"\n",
                                            "<b>"));
  EXPECT_EQ(plan.needs_restart,
            (std::vector<std::string>{"api.connections", "api.max_inflight", "api.adaptive", "spool.dir", "state.dir",
                                      "metrics.listen"}));
}

}  // namespace
}  // namespace submitd::config
