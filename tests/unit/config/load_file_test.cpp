// Role: loading settings from a file: the file is named in every error, an unreadable file
// says why, and an oversized file is refused before it is parsed.
#include "config/load.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace submitd::config {
namespace {

using ::testing::HasSubstr;

const std::string kSpool = "[spool]\ndir = \"/var/spool/submitd\"\n";

TEST(LoadSettingsFile, ReadsFileAndNamesItInErrors) {
  testing::TempDir tmp;
  auto good = tmp.write("good.toml", kSpool);
  EXPECT_EQ(load_settings_file(good).spool.dir, "/var/spool/submitd");

  auto bad = tmp.write("bad.toml", kSpool + "[api]\nconnections = 0\n");
  try {
    load_settings_file(bad);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              bad.string() + ":4: api.connections = 0: must be between 1 and 1024");
  }
}

TEST(LoadSettingsFile, UnreadableFileNamesFileAndReason) {
  testing::TempDir tmp;
  auto missing = tmp.path() / "missing.toml";
  try {
    load_settings_file(missing);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot read config file " + missing.string() + ": No such file or directory");
  }
  try {
    load_settings_file(tmp.path());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr(tmp.path().string() + ": not a regular file"));
  }
}

TEST(LoadSettingsFile, OversizedFileIsNotAConfigFile) {
  testing::TempDir tmp;
  auto big = tmp.write("big.toml", std::string((1 << 20) + 1, '#'));
  try {
    load_settings_file(big);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot read config file " + big.string() + ": larger than 1 MiB, not a config file");
  }
}

}  // namespace
}  // namespace submitd::config
