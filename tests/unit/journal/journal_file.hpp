// Role: a fixture for journal tests: a fresh temp directory per test and the journal options
// pointing into it, removed afterwards.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "journal/journal_store.hpp"

namespace submitd::journal::testing {

class JournalFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("journal-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    options_.file = dir_ / "journal.sqlite";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  JournalStore::Options options_;
};

}  // namespace submitd::journal::testing
