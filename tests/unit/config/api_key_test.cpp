// Role: where the API key comes from, in which order, and that no error or description ever
// contains the key itself.
#include "config/api_key.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "config/load.hpp"
#include "temp_dir.hpp"

namespace submitd::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kSecret = "sk-live-4f9a0c";

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// Where the package's key file would be: absent, so a key on the machine running the tests
// does not change them.
const std::filesystem::path kNoPackagedFile = "/nonexistent/bytenite-submitd/api_key";

std::string error_of(const ApiSettings& api, const EnvLookup& env,
                     const std::filesystem::path& packaged = kNoPackagedFile) {
  try {
    load_api_key(api, env, packaged);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError";
  return {};
}

TEST(ApiKey, FileComesFirstAndIsTrimmed) {
  testing::TempDir tmp;
  ApiSettings api;
  api.api_key_file = tmp.write("key", std::string(kSecret) + "\r\n\n");
  auto env =
      env_of({{"BYTENITE_API_KEY", "from-env"}, {"CREDENTIALS_DIRECTORY", tmp.path().string()}});
  EXPECT_EQ(load_api_key(api, env), kSecret);
  EXPECT_EQ(describe_api_key_source(api, env),
            "file " + api.api_key_file->string() + " (api.api_key_file)");
}

TEST(ApiKey, ConfiguredFileMissingIsAnErrorWithoutFallback) {
  testing::TempDir tmp;
  ApiSettings api;
  api.api_key_file = tmp.path() / "missing";
  std::string message = error_of(api, env_of({{"BYTENITE_API_KEY", kSecret}}));
  EXPECT_EQ(message, "cannot read the API key from file " + api.api_key_file->string() +
                         " (api.api_key_file): No such file or directory");
  EXPECT_THAT(message, Not(HasSubstr(kSecret)));
}

TEST(ApiKey, SystemdCredentialBeforeEnvironment) {
  testing::TempDir tmp;
  tmp.write("api_key", std::string(kSecret) + "\n");
  auto env =
      env_of({{"CREDENTIALS_DIRECTORY", tmp.path().string()}, {"BYTENITE_API_KEY", "from-env"}});
  EXPECT_EQ(load_api_key(ApiSettings{}, env), kSecret);
  EXPECT_EQ(describe_api_key_source(ApiSettings{}, env),
            "systemd credential " + (tmp.path() / "api_key").string());
}

TEST(ApiKey, CredentialsDirectoryWithoutKeyFallsBackToEnvironment) {
  testing::TempDir tmp;
  auto env = env_of({{"CREDENTIALS_DIRECTORY", tmp.path().string()},
                     {"BYTENITE_API_KEY", std::string(kSecret) + " \n"}});
  EXPECT_EQ(load_api_key(ApiSettings{}, env), kSecret);
  EXPECT_EQ(describe_api_key_source(ApiSettings{}, env), "environment variable BYTENITE_API_KEY");
}

TEST(ApiKey, NothingFoundSaysWhereItLooked) {
  EXPECT_EQ(error_of(ApiSettings{}, env_of({})),
            "no API key found: api.api_key_file is not set; $CREDENTIALS_DIRECTORY is not set; "
            "$BYTENITE_API_KEY is not set; /nonexistent/bytenite-submitd/api_key does not exist");
  EXPECT_EQ(describe_api_key_source(ApiSettings{}, env_of({}), kNoPackagedFile), "none found");
  testing::TempDir tmp;
  EXPECT_THAT(error_of(ApiSettings{}, env_of({{"CREDENTIALS_DIRECTORY", tmp.path().string()}})),
              HasSubstr((tmp.path() / "api_key").string() + " does not exist"));
  // An empty variable is the same as an unset one.
  EXPECT_THAT(error_of(ApiSettings{}, env_of({{"BYTENITE_API_KEY", ""}})),
              HasSubstr("$BYTENITE_API_KEY is not set"));
}

TEST(ApiKey, ThePackagesKeyFileIsReadWhenNoCredentialIsGiven) {
  // Outside systemd (--check-config by an admin) there is no $CREDENTIALS_DIRECTORY: the file
  // the unit would hand over is read directly, after every other source.
  testing::TempDir tmp;
  const auto packaged = tmp.write("api_key", std::string(kSecret) + "\n");
  EXPECT_EQ(load_api_key(ApiSettings{}, env_of({}), packaged), kSecret);
  EXPECT_EQ(describe_api_key_source(ApiSettings{}, env_of({}), packaged),
            "file " + packaged.string() + " (the package's credential file)");
  EXPECT_EQ(load_api_key(ApiSettings{}, env_of({{"BYTENITE_API_KEY", "from-env"}}), packaged), "from-env");
  testing::TempDir credentials;
  credentials.write("api_key", "from-credential");
  EXPECT_EQ(load_api_key(ApiSettings{}, env_of({{"CREDENTIALS_DIRECTORY", credentials.path().string()}}), packaged),
            "from-credential");
  tmp.write("api_key", "\n");  // there but empty: refused, naming it
  EXPECT_THAT(error_of(ApiSettings{}, env_of({}), packaged), HasSubstr(packaged.string() + " (the package's credential file) is empty"));
}

TEST(ApiKey, EmptyKeyFileIsAnError) {
  testing::TempDir tmp;
  ApiSettings api;
  api.api_key_file = tmp.write("key", " \n\n");
  EXPECT_EQ(error_of(api, env_of({})),
            "the API key from file " + api.api_key_file->string() + " (api.api_key_file) is empty");
}

TEST(ApiKey, WhitespaceInsideIsRefusedWithoutShowingTheKey) {
  testing::TempDir tmp;
  ApiSettings api;
  api.api_key_file = tmp.write("key", "sk-live\n4f9a0c\n");
  std::string message = error_of(api, env_of({}));
  EXPECT_THAT(message, HasSubstr("contains whitespace or control characters"));
  EXPECT_THAT(message, Not(HasSubstr("sk-live")));
  EXPECT_THAT(message, Not(HasSubstr("4f9a0c")));
  message = error_of(ApiSettings{}, env_of({{"BYTENITE_API_KEY", "sk-live\x01x"}}));
  EXPECT_THAT(message, HasSubstr("environment variable BYTENITE_API_KEY contains whitespace"));
  EXPECT_THAT(message, Not(HasSubstr("sk-live")));
}

TEST(ApiKey, KeyFileMustBeARegularFile) {
  testing::TempDir tmp;
  ApiSettings api;
  api.api_key_file = tmp.path();
  EXPECT_THAT(error_of(api, env_of({})), HasSubstr("(api.api_key_file): not a regular file"));
}

TEST(ApiKey, OversizedKeyFileIsRefusedWithoutItsContent) {
  testing::TempDir tmp;
  ApiSettings api;
  api.api_key_file = tmp.write("key", std::string(64 * 1024 + 1, 'k'));
  std::string message = error_of(api, env_of({}));
  EXPECT_THAT(message, HasSubstr("is larger than 64 KiB: wrong file?"));
  EXPECT_THAT(message, Not(HasSubstr("kkkk")));
  api.api_key_file = tmp.write("key", std::string(64 * 1024, 'k'));  // at the limit: accepted
  EXPECT_EQ(load_api_key(api, env_of({})), std::string(64 * 1024, 'k'));
}

TEST(ApiKey, ProcessEnvironmentReadsGetenv) {
  ::setenv("SUBMITD_TEST_VARIABLE", "value", 1);
  ::setenv("SUBMITD_TEST_EMPTY", "", 1);
  auto env = process_environment();
  EXPECT_EQ(env("SUBMITD_TEST_VARIABLE"), "value");
  EXPECT_EQ(env("SUBMITD_TEST_EMPTY"), std::nullopt);
  EXPECT_EQ(env("SUBMITD_TEST_UNSET_VARIABLE"), std::nullopt);
}

}  // namespace
}  // namespace submitd::config
