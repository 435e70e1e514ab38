// Role: systemd's STATUS= line as `systemctl status` shows it: the same snapshot as
// /v1/status, with what needs attention (pause, full disk, API trouble) said first or plainly.
#include <gtest/gtest.h>

#include "service_manager.hpp"

using namespace submitd;

TEST(SystemdStatusLine, ARunningDaemon) {
  control::DaemonStatus st;
  st.inflight = 3;
  st.active_files = 2;
  st.backlog_files = 5;
  st.api_answering = true;
  st.api_connections = 4;
  EXPECT_EQ(systemd_status_line(st),
            "STATUS=in flight 3, files active 2, backlog 5, API answering (4 connections)");
}

TEST(SystemdStatusLine, TroubleIsSaidFirstOrPlainly) {
  control::DaemonStatus st;
  st.paused = true;
  st.storage_full = true;
  st.api_trouble = "HTTP 503";
  st.follow_enabled = true;
  st.followed_jobs = 8;
  EXPECT_EQ(systemd_status_line(st),
            "STATUS=PAUSED; DISK FULL, not claiming; in flight 0, files active 0, backlog 0, "
            "API trouble: HTTP 503 (0 connections), following 8 jobs");
}
