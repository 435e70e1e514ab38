// Command-line parsing: defaults, every option, and refusals that name the option.
#include "command_line.hpp"

#include <gtest/gtest.h>

namespace emulator {
namespace {

ParsedCommandLine parse(std::vector<std::string> args) { return parse_command_line(args); }

TEST(CommandLine, Defaults) {
  auto p = parse({});
  ASSERT_TRUE(p.options) << p.error;
  EXPECT_EQ(p.options->listen_host, "127.0.0.1");
  EXPECT_EQ(p.options->listen_port, 0);
  EXPECT_EQ(p.options->threads, 2);
  EXPECT_EQ(p.options->customer_path, "customer");
  EXPECT_EQ(p.options->job_duration_ms, 2000);
  EXPECT_EQ(p.options->token_lifetime_s, 3600);
  EXPECT_EQ(p.options->hostname, "localhost");
  EXPECT_TRUE(p.options->api_keys.empty());
  EXPECT_FALSE(p.options->seed);
}

TEST(CommandLine, EveryOption) {
  auto p = parse({"--listen",
                  "[::1]:8443",
                  "--threads=4",
                  "--cert-dir",
                  "/tmp/c",
                  "--api-key",
                  "a",
                  "--api-key=b",
                  "--api-key-file",
                  "/k",
                  "--customer-path",
                  "/computing/",
                  "--job-duration-ms",
                  "100",
                  "--token-lifetime-s",
                  "2",
                  "--fail-503",
                  "0.1",
                  "--fail-429=0.05",
                  "--retry-after-s",
                  "3",
                  "--reset-before",
                  "0",
                  "--reset-after",
                  "1",
                  "--latency-ms",
                  "20",
                  "--seed",
                  "99",
                  "--ready-file",
                  "/r",
                  "--quiet",
                  "--hostname",
                  "wrong.example"});
  ASSERT_TRUE(p.options) << p.error;
  const auto& o = *p.options;
  EXPECT_EQ(o.listen_host, "::1");
  EXPECT_EQ(o.listen_port, 8443);
  EXPECT_EQ(o.threads, 4);
  EXPECT_EQ(o.api_keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(o.customer_path, "computing");
  EXPECT_EQ(o.job_duration_ms, 100);
  EXPECT_EQ(o.token_lifetime_s, 2);
  EXPECT_DOUBLE_EQ(o.faults.fail_503, 0.1);
  EXPECT_DOUBLE_EQ(o.faults.fail_429, 0.05);
  EXPECT_EQ(o.faults.retry_after_s, 3);
  EXPECT_DOUBLE_EQ(o.faults.reset_after, 1.0);
  EXPECT_EQ(o.faults.latency_ms, 20);
  EXPECT_EQ(o.seed, 99u);
  EXPECT_EQ(o.ready_file, "/r");
  EXPECT_TRUE(o.quiet);
  EXPECT_EQ(o.hostname, "wrong.example");
}

TEST(CommandLine, RefusalsNameTheOption) {
  EXPECT_EQ(parse({"--bogus"}).error, "unknown option --bogus (see --help)");
  EXPECT_EQ(parse({"--fail-503", "1.5"}).error, "--fail-503 1.5: expected a probability in [0, 1]");
  EXPECT_EQ(parse({"--threads", "0"}).error, "--threads 0: expected an integer from 1 to 256");
  EXPECT_EQ(parse({"--listen", "8443"}).error,
            "--listen 8443: expected HOST:PORT, e.g. 127.0.0.1:0");
  EXPECT_EQ(parse({"--listen", "127.0.0.1:70000"}).options, std::nullopt);
  EXPECT_EQ(parse({"--seed"}).error, "--seed needs a value: an unsigned integer");
  EXPECT_EQ(parse({"--cert", "c.pem"}).error, "--cert and --key must be given together");
  EXPECT_EQ(parse({"--quiet=yes"}).error, "--quiet takes no value");
}

TEST(CommandLine, ApiKeysAreNeverEchoed) {
  auto p = parse({"--api-key", ""});
  EXPECT_FALSE(p.options);
  EXPECT_EQ(p.error.find("--api-key <hidden>"), 0u);
}

}  // namespace
}  // namespace emulator
