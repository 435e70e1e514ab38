// Unit tests of the full-disk guard: when claiming stops, when it starts again, and which
// errors count as "full". Time is injected; no file system is filled here (the integration
// test disk_full_test does that on a small tmpfs).
#include "spool/storage_guard.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <stdexcept>

namespace submitd::spool {
namespace {

using namespace std::chrono_literals;

const std::error_code kNoSpace(ENOSPC, std::generic_category());
const std::error_code kQuota(EDQUOT, std::system_category());
const std::error_code kIo(EIO, std::generic_category());

TEST(StorageGuard, OnlyNoSpaceAndQuotaCount) {
  EXPECT_TRUE(is_out_of_space(kNoSpace));
  EXPECT_TRUE(is_out_of_space(kQuota));
  EXPECT_TRUE(is_out_of_space(std::error_code(ENOSPC, std::system_category())));
  EXPECT_FALSE(is_out_of_space(kIo));
  EXPECT_FALSE(is_out_of_space(std::error_code()));
  EXPECT_TRUE(is_out_of_space(std::system_error(kNoSpace, "write x")));
  EXPECT_FALSE(is_out_of_space(std::system_error(kIo, "write x")));
  EXPECT_FALSE(is_out_of_space(std::runtime_error("No space left on device")));
}

TEST(StorageGuard, AWriteFailureStartsOneSpellAndOtherErrorsDoNot) {
  ManualClock clock;
  StorageGuard guard(0, 5s);
  EXPECT_FALSE(guard.on_write_failure("write outcome", kIo, clock.now()));
  EXPECT_FALSE(guard.full());
  EXPECT_TRUE(guard.on_write_failure("write outcome", kNoSpace, clock.now()));
  EXPECT_TRUE(guard.full());
  EXPECT_NE(guard.reason().find("write outcome"), std::string::npos);
  // Already full: not a new spell (the caller logs once per spell).
  EXPECT_FALSE(guard.on_write_failure("write outcome", kNoSpace, clock.now()));
  EXPECT_TRUE(guard.full());
}

TEST(StorageGuard, ProbesOnlyWhenDueAndEndsTheSpellWhenAWriteFits) {
  ManualClock clock;
  StorageGuard guard(0, 5s);
  EXPECT_FALSE(guard.probe_due(clock.now()));  // not full: nothing to probe
  guard.on_write_failure("w", kNoSpace, clock.now());
  EXPECT_FALSE(guard.probe_due(clock.now()));
  clock.advance(4s);
  EXPECT_FALSE(guard.probe_due(clock.now()));
  clock.advance(1s);
  ASSERT_TRUE(guard.probe_due(clock.now()));
  EXPECT_FALSE(guard.on_probe(1 << 20, /*write_ok=*/false, clock.now()));
  EXPECT_TRUE(guard.full());
  EXPECT_FALSE(guard.probe_due(clock.now()));  // the next probe is another interval away
  clock.advance(5s);
  ASSERT_TRUE(guard.probe_due(clock.now()));
  EXPECT_TRUE(guard.on_probe(1 << 20, /*write_ok=*/true, clock.now()));
  EXPECT_FALSE(guard.full());
  EXPECT_TRUE(guard.reason().empty());
}

TEST(StorageGuard, AFailedWriteDuringASpellPostponesTheProbe) {
  ManualClock clock;
  StorageGuard guard(0, 5s);
  guard.on_write_failure("w", kNoSpace, clock.now());
  clock.advance(4s);
  guard.on_write_failure("w", kNoSpace, clock.now());
  clock.advance(2s);
  EXPECT_FALSE(guard.probe_due(clock.now()));
  clock.advance(3s);
  EXPECT_TRUE(guard.probe_due(clock.now()));
}

TEST(StorageGuard, TheReserveStopsClaimingBeforeWritesFail) {
  ManualClock clock;
  StorageGuard guard(64u << 20, 5s);
  EXPECT_FALSE(guard.on_free_space(100u << 20, clock.now()));
  EXPECT_FALSE(guard.full());
  EXPECT_TRUE(guard.on_free_space(10u << 20, clock.now()));
  EXPECT_TRUE(guard.full());
  EXPECT_NE(guard.reason().find("spool.min_free_mb"), std::string::npos);
  clock.advance(5s);
  // A write fits but the free space is still under the reserve: stay stopped.
  EXPECT_FALSE(guard.on_probe(20u << 20, true, clock.now()));
  EXPECT_TRUE(guard.full());
  clock.advance(5s);
  EXPECT_TRUE(guard.on_probe(65u << 20, true, clock.now()));
  EXPECT_FALSE(guard.full());
}

TEST(StorageGuard, ProbeWriteAndFreeBytesOnARealDirectory) {
  auto dir = std::filesystem::temp_directory_path();
  EXPECT_GT(free_bytes(dir.string()), 0u);
  EXPECT_TRUE(probe_write(dir.string()));
  EXPECT_FALSE(std::filesystem::exists(dir / ".space-probe"));
  EXPECT_FALSE(probe_write((dir / "no-such-dir-for-probe").string()));
  EXPECT_THROW(free_bytes((dir / "no-such-dir-for-probe").string()), std::system_error);
}

}  // namespace
}  // namespace submitd::spool
