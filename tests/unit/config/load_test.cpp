// Role: the TOML loader's contract: defaults, every key's range and type checks, unknown keys,
// and that every error names origin, line, key, value and why.
#include "config/load.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace submitd::config {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kSpool = "[spool]\ndir = \"/var/spool/submitd\"\n";

Settings parse(const std::string& toml) { return parse_settings(toml, "<test>"); }

// The message of the ConfigError that `toml` must cause.
std::string error_of(const std::string& toml) {
  try {
    parse(toml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for:\n" << toml;
  return {};
}

TEST(LoadSettings, MinimalConfigGetsDocumentedDefaults) {
  Settings s = parse(kSpool);
  EXPECT_EQ(s.api.base_url, "https://api.bytenite.com/v1");
  EXPECT_EQ(s.api.host, "api.bytenite.com");
  EXPECT_EQ(s.api.port, 443);
  EXPECT_EQ(s.api.base_path, "/v1");
  EXPECT_EQ(s.api.customer_path, "customer");
  EXPECT_EQ(s.api.customer_prefix(), "/v1/customer");
  EXPECT_EQ(s.api.authority(), "api.bytenite.com");
  EXPECT_FALSE(s.api.api_key_file);
  EXPECT_FALSE(s.api.ca_file);
  EXPECT_EQ(s.api.connections, 32u);
  EXPECT_EQ(s.api.connect_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(s.api.request_timeout, std::chrono::milliseconds(30000));
  EXPECT_EQ(s.api.max_inflight, 256u);
  EXPECT_EQ(s.spool.dir, "/var/spool/submitd");
  EXPECT_EQ(s.spool.max_request_bytes, 1048576u);
  EXPECT_EQ(s.spool.rescan_interval, std::chrono::milliseconds(2000));
  EXPECT_EQ(s.spool.done_retention, std::chrono::days(7));
  EXPECT_EQ(s.spool.min_free_bytes, 64ull << 20);
  EXPECT_FALSE(s.follow.enabled);
  EXPECT_EQ(s.follow.poll_interval, std::chrono::seconds(30));
  EXPECT_EQ(s.follow.max_followed, 10000u);
  EXPECT_EQ(s.follow.give_up_margin, std::chrono::seconds(3600));
  EXPECT_EQ(s.spool.give_up_after, std::chrono::seconds(86400));
  EXPECT_EQ(s.state.dir, "/var/spool/submitd/state");
  EXPECT_FALSE(s.control.socket);
  EXPECT_TRUE(s.metrics.enabled);
  EXPECT_EQ(s.metrics.listen, "127.0.0.1:9464");
  EXPECT_EQ(s.metrics.host, "127.0.0.1");
  EXPECT_EQ(s.metrics.port, 9464);
  EXPECT_EQ(s.log.level, LogLevel::info);
  EXPECT_EQ(s.submit.request_id_retention, std::chrono::days(7));
  EXPECT_FALSE(s.submit.force_test_jobs);
}

TEST(LoadSettings, EveryKeySet) {
  testing::TempDir tmp;
  auto ca = tmp.write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  Settings s = parse(R"(
[api]
base_url = "https://emulator.test:8443/api/v2/"
customer_path = "computing"
api_key_file = "/etc/submitd/key"
ca_file = ")" + ca.string() +
                     R"("
connections = 4
connect_timeout_ms = 100
request_timeout_ms = 2000
max_inflight = 10
[spool]
dir = "/srv/spool/"
max_request_bytes = 2048
rescan_interval_ms = 500
done_retention_days = 0
give_up_after_s = 60
min_free_mb = 0
[state]
dir = "/var/lib/submitd"
[control]
socket = "/run/submitd/control.sock"
[metrics]
listen = "[::1]:0"
[log]
level = "debug"
[submit]
request_id_retention_days = 30
force_test_jobs = true
[follow]
enabled = true
poll_interval_s = 5
max_followed = 200
give_up_margin_s = 0
)");
  EXPECT_TRUE(s.follow.enabled);
  EXPECT_EQ(s.follow.poll_interval, std::chrono::seconds(5));
  EXPECT_EQ(s.follow.max_followed, 200u);
  EXPECT_EQ(s.follow.give_up_margin, std::chrono::seconds(0));
  EXPECT_EQ(s.api.host, "emulator.test");
  EXPECT_EQ(s.api.port, 8443);
  EXPECT_EQ(s.api.base_path, "/api/v2");
  EXPECT_EQ(s.api.customer_prefix(), "/api/v2/computing");
  EXPECT_EQ(s.api.authority(), "emulator.test:8443");
  EXPECT_EQ(s.api.api_key_file, std::filesystem::path("/etc/submitd/key"));
  EXPECT_EQ(s.api.ca_file, ca);
  EXPECT_EQ(s.api.connections, 4u);
  EXPECT_EQ(s.api.connect_timeout, std::chrono::milliseconds(100));
  EXPECT_EQ(s.api.request_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(s.api.max_inflight, 10u);
  EXPECT_EQ(s.spool.dir, "/srv/spool");  // trailing '/' dropped
  EXPECT_EQ(s.spool.max_request_bytes, 2048u);
  EXPECT_EQ(s.spool.rescan_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(s.spool.done_retention, std::chrono::days(0));
  EXPECT_EQ(s.spool.min_free_bytes, 0u);
  EXPECT_EQ(s.spool.give_up_after, std::chrono::seconds(60));
  EXPECT_EQ(s.state.dir, "/var/lib/submitd");
  EXPECT_EQ(s.control.socket, std::filesystem::path("/run/submitd/control.sock"));
  EXPECT_TRUE(s.metrics.enabled);
  EXPECT_EQ(s.metrics.host, "::1");
  EXPECT_EQ(s.metrics.port, 0);
  EXPECT_EQ(s.log.level, LogLevel::debug);
  EXPECT_EQ(s.submit.request_id_retention, std::chrono::days(30));
  EXPECT_TRUE(s.submit.force_test_jobs);
}

TEST(LoadSettings, RetryAndPacingKeys) {
  Settings s = parse_settings(kSpool + "[api]\nretry_base_ms = 50\nretry_cap_ms = 5000\nretry_after_cap_s = 0\n"
                                       "blocked_retry_s = 5\nretry_budget_percent = 20\n"
                                       "retry_budget_min_per_second = 3\nrate_limit_per_second = 100\n",
                              "<test>");
  EXPECT_EQ(s.api.retry_base, std::chrono::milliseconds(50));
  EXPECT_EQ(s.api.retry_cap, std::chrono::milliseconds(5000));
  EXPECT_EQ(s.api.retry_after_cap, std::chrono::seconds(0));
  EXPECT_EQ(s.api.blocked_retry, std::chrono::seconds(5));
  EXPECT_EQ(s.api.retry_budget_percent, 20u);
  EXPECT_EQ(s.api.retry_budget_min_per_second, 3u);
  EXPECT_EQ(s.api.rate_limit_per_second, 100u);
  EXPECT_TRUE(s.api.adaptive) << "on by default";
  EXPECT_FALSE(parse_settings(kSpool + "[api]\nadaptive = false\n", "<t>").api.adaptive);
  EXPECT_THAT(error_of(kSpool + "[api]\nadaptive = 1"), HasSubstr("api.adaptive"));
  EXPECT_EQ(parse_settings(kSpool + "[api]\nshutdown_grace_s = 5\n", "<t>").api.shutdown_grace, std::chrono::seconds(5));
  EXPECT_THAT(error_of(kSpool + "[api]\nretry_base_ms = 500\nretry_cap_ms = 100"),
              HasSubstr("api.retry_cap_ms = 100: must not be below api.retry_base_ms"));
  EXPECT_THAT(error_of(kSpool + "[api]\nretry_budget_min_per_second = 0"),
              HasSubstr("api.retry_budget_min_per_second = 0: must be between 1 and 1000000"));
  EXPECT_THAT(error_of(kSpool + "[api]\nrate_limit_per_second = -1"), HasSubstr("must be between 0 and"));
}

TEST(LoadSettings, UploadKeys) {
  Settings defaults = parse(kSpool);
  EXPECT_FALSE(defaults.upload.dir);
  EXPECT_TRUE(defaults.upload.allowed_dirs.empty());
  EXPECT_EQ(defaults.upload.max_bytes, 5ull << 30);
  EXPECT_EQ(defaults.upload.max_concurrent, 4u);
  Settings s = parse(kSpool + "[upload]\ndir = \"/srv/in/\"\nallowed_dirs = [\"/a\", \"/b/c\"]\nmax_bytes = 1000\n"
                              "max_concurrent = 2\nstall_timeout_s = 9\n");
  EXPECT_EQ(s.upload.dir, std::filesystem::path("/srv/in"));
  EXPECT_EQ(s.upload.allowed_dirs, (std::vector<std::filesystem::path>{"/a", "/b/c"}));
  EXPECT_EQ(s.upload.max_bytes, 1000u);
  EXPECT_EQ(s.upload.max_concurrent, 2u);
  EXPECT_EQ(s.upload.stall_timeout, std::chrono::seconds(9));
  EXPECT_THAT(error_of(kSpool + "[upload]\ndir = \"in\""), HasSubstr("upload.dir = \"in\": must be an absolute path"));
  EXPECT_THAT(error_of(kSpool + "[upload]\nallowed_dirs = \"/a\""), HasSubstr("expected an array of absolute paths"));
  EXPECT_THAT(error_of(kSpool + "[upload]\nallowed_dirs = [\"/a\", \"b\"]"),
              HasSubstr("upload.allowed_dirs = \"b\": must be an absolute path"));
  EXPECT_THAT(error_of(kSpool + "[upload]\nallowed_dirs = [1]"), HasSubstr("expected an absolute path, found an integer"));
  EXPECT_THAT(error_of(kSpool + "[upload]\nmax_concurrent = 0"), HasSubstr("must be between 1 and 1024"));
}

TEST(LoadSettings, ResultsKeys) {
  Settings defaults = parse(kSpool);
  EXPECT_FALSE(defaults.results.download_dir);
  EXPECT_EQ(defaults.results.max_concurrent, 4u);
  EXPECT_EQ(defaults.results.max_bytes_per_second, 0u);
  EXPECT_EQ(defaults.results.max_bytes, 64ull << 30);
  Settings s = parse(kSpool + "[follow]\nenabled = true\n[results]\ndownload_dir = \"/srv/out/\"\nmax_concurrent = 3\n"
                              "max_bytes_per_second = 1048576\nmax_bytes = 4096\n");
  EXPECT_EQ(s.results.download_dir, std::filesystem::path("/srv/out"));
  EXPECT_EQ(s.results.max_concurrent, 3u);
  EXPECT_EQ(s.results.max_bytes_per_second, 1048576u);
  EXPECT_EQ(s.results.max_bytes, 4096u);
  EXPECT_THAT(error_of(kSpool + "[results]\ndownload_dir = \"/srv/out\""),
              HasSubstr("results.download_dir = \"/srv/out\": needs [follow] enabled = true"));
  EXPECT_THAT(error_of(kSpool + "[follow]\nenabled = true\n[results]\ndownload_dir = \"out\""),
              HasSubstr("must be an absolute path"));
  EXPECT_THAT(error_of(kSpool + "[results]\nmax_concurrent = 0"), HasSubstr("must be between 1 and 1024"));
  EXPECT_THAT(error_of(kSpool + "[results]\nmax_bytes_per_second = -1"), HasSubstr("must be between 0 and"));
}

TEST(LoadSettings, JetStreamKeysInTheirNestedTable) {
  Settings defaults = parse(kSpool);
  EXPECT_FALSE(defaults.jetstream.enabled());
  EXPECT_EQ(defaults.jetstream.batch, 64u);
  EXPECT_EQ(defaults.jetstream.ack_wait, std::chrono::seconds(60));
  EXPECT_EQ(defaults.jetstream.max_deliver, 5u);
  EXPECT_EQ(defaults.jetstream.outcome_subject, "bytenite.outcomes");
  const std::string on = "[intake.jetstream]\nservers = [\"nats://127.0.0.1:4222\", \"tls://n2:4222\"]\n"
                         "stream = \"REQ\"\nconsumer = \"fleet\"\n"
                         "namespace = \"6f1c1f0e-7c52-4d1a-9a44-2b1e0f6a8c3d\"\n";
  Settings s = parse(kSpool + on + "subject = \"req.>\"\nbatch = 10\nack_wait_s = 5\nmax_deliver = 3\n"
                                   "kv_bucket = \"ids\"\noutcome_subject = \"out.x\"\n");
  EXPECT_TRUE(s.jetstream.enabled());
  EXPECT_EQ(s.jetstream.servers, (std::vector<std::string>{"nats://127.0.0.1:4222", "tls://n2:4222"}));
  EXPECT_EQ(s.jetstream.stream, "REQ");
  EXPECT_EQ(s.jetstream.consumer, "fleet");
  EXPECT_EQ(s.jetstream.subject, "req.>");
  EXPECT_EQ(s.jetstream.batch, 10u);
  EXPECT_EQ(s.jetstream.ack_wait, std::chrono::seconds(5));
  EXPECT_EQ(s.jetstream.max_deliver, 3u);
  EXPECT_EQ(s.jetstream.job_namespace, "6f1c1f0e-7c52-4d1a-9a44-2b1e0f6a8c3d");
  EXPECT_EQ(s.jetstream.kv_bucket, "ids");
  EXPECT_EQ(s.jetstream.outcome_subject, "out.x");
  // The same table written with a dotted key path reads the same.
  EXPECT_EQ(parse(kSpool + "[intake]\njetstream.stream = \"S\"\n").jetstream.stream, "S");
  EXPECT_THAT(error_of(kSpool + "[intake.jetstream]\nservers = [\"http://x\"]"), HasSubstr("nats:// or tls:// URL"));
  EXPECT_THAT(error_of(kSpool + "[intake.jetstream]\nservers = [\"nats://x:4222\"]\nconsumer = \"c\"\n"
                                "namespace = \"6f1c1f0e-7c52-4d1a-9a44-2b1e0f6a8c3d\""),
              HasSubstr("intake.jetstream.stream: required when intake.jetstream.servers is set"));
  EXPECT_THAT(error_of(kSpool + "[intake.jetstream]\nservers = [\"nats://x:4222\"]\nstream = \"S\"\nconsumer = \"c\""),
              HasSubstr("intake.jetstream.namespace: required"));
  EXPECT_THAT(error_of(kSpool + on + "stream = \"a.b\""), HasSubstr("redefin"));  // TOML: stream given twice
  EXPECT_THAT(error_of(kSpool + "[intake.jetstream]\nstream = \"a.b\""), HasSubstr("letters, digits"));
  EXPECT_THAT(error_of(kSpool + "[intake.jetstream]\nnamespace = \"nope\""), HasSubstr("must be a UUID"));
  EXPECT_THAT(error_of(kSpool + "[intake.jetstream]\nsubject = \"a..b\""), HasSubstr("not a NATS subject"));
  EXPECT_THAT(error_of(kSpool + "[intake.jetstream]\noutcome_subject = \"a.*\""), HasSubstr("no wildcards"));
  EXPECT_THAT(error_of(kSpool + "[intake.jetstream]\nbatch = 0"), HasSubstr("must be between 1 and 10000"));
  EXPECT_THAT(error_of(kSpool + "[intake.kafka]\nx = 1"), HasSubstr("unknown table"));
  EXPECT_THAT(error_of(kSpool + "[intake.jetstream]\nstreams = \"S\""), HasSubstr("intake.jetstream.streams"));
  EXPECT_THAT(error_of(kSpool + "[intake]\njetstream = 1"), HasSubstr("expected a table"));
}

TEST(LoadSettings, ErrorNamesOriginLineKeyValueAndWhy) {
  EXPECT_EQ(error_of(kSpool + "[api]\nconnections = 0\n"),
            "<test>:4: api.connections = 0: must be between 1 and 1024");
}

TEST(LoadSettings, IntegerRanges) {
  EXPECT_THAT(error_of(kSpool + "[api]\nconnections = 1025"),
              HasSubstr("api.connections = 1025: must be between 1 and 1024"));
  EXPECT_THAT(error_of(kSpool + "[api]\nmax_inflight = 0"),
              HasSubstr("api.max_inflight = 0: must be between 1 and 100000"));
  EXPECT_THAT(error_of(kSpool + "[api]\nmax_inflight = 100001"), HasSubstr("between 1 and 100000"));
  EXPECT_THAT(error_of(kSpool + "[api]\nconnect_timeout_ms = 0"),
              HasSubstr("api.connect_timeout_ms = 0: must be between 1 and"));
  EXPECT_THAT(error_of(kSpool + "[api]\nrequest_timeout_ms = -1"),
              HasSubstr("api.request_timeout_ms = -1: must be between"));
  EXPECT_THAT(error_of(kSpool + "max_request_bytes = 1023"),
              HasSubstr("spool.max_request_bytes = 1023: must be between 1024 and 67108864"));
  EXPECT_THAT(error_of(kSpool + "max_request_bytes = 67108865"),
              HasSubstr("must be between 1024 and 67108864"));
  EXPECT_THAT(error_of(kSpool + "rescan_interval_ms = 99"),
              HasSubstr("spool.rescan_interval_ms = 99: must be between 100"));
  EXPECT_THAT(error_of(kSpool + "[follow]\npoll_interval_s = 0"),
              HasSubstr("follow.poll_interval_s = 0: must be between 1 and 86400"));
  EXPECT_THAT(error_of(kSpool + "[follow]\nenabled = 1"), HasSubstr("follow.enabled = 1"));
  EXPECT_THAT(error_of(kSpool + "min_free_mb = -1"),
              HasSubstr("spool.min_free_mb = -1: must be between 0 and 1048576"));
  EXPECT_THAT(error_of(kSpool + "done_retention_days = -1"),
              HasSubstr("spool.done_retention_days = -1: must be between 0"));
  EXPECT_THAT(error_of(kSpool + "give_up_after_s = 0"),
              HasSubstr("spool.give_up_after_s = 0: must be between 1"));
  EXPECT_THAT(error_of(kSpool + "[submit]\nrequest_id_retention_days = 0"),
              HasSubstr("submit.request_id_retention_days = 0: must be between 1 and 3650"));
}

TEST(LoadSettings, WrongTypesNameExpectedAndFound) {
  EXPECT_THAT(error_of(kSpool + "[api]\nconnections = \"32\""),
              HasSubstr("api.connections = \"32\": expected an integer, found a string"));
  EXPECT_THAT(error_of(kSpool + "[api]\nconnections = 3.5"),
              HasSubstr("api.connections = 3.5: expected an integer, found a float"));
  EXPECT_THAT(error_of(kSpool + "[api]\nbase_url = 42"),
              HasSubstr("api.base_url = 42: expected a string, found an integer"));
  EXPECT_THAT(
      error_of(kSpool + "[submit]\nforce_test_jobs = \"yes\""),
      HasSubstr("submit.force_test_jobs = \"yes\": expected true or false, found a string"));
  EXPECT_THAT(error_of(kSpool + "[log]\nlevel = [\"info\"]"),
              HasSubstr("log.level = [...]: expected a string, found an array"));
  EXPECT_THAT(error_of("spool = 3"), HasSubstr("spool = 3: expected a table, found an integer"));
  EXPECT_THAT(error_of(kSpool + "[[api]]\nconnections = 3"),
              HasSubstr("api = [...]: expected a table, found an array"));
}

TEST(LoadSettings, UnknownKeysAndTablesAreErrors) {
  EXPECT_EQ(error_of(kSpool + "[api]\nconections = 3\n"),
            "<test>:4: api.conections = 3: unknown key (did you mean api.connections?)");
  EXPECT_THAT(error_of(kSpool + "[api]\nflavour = 3\n"), HasSubstr("api.flavour = 3: unknown key"));
  EXPECT_THAT(error_of(kSpool + "[apii]\nconnections = 3\n"),
              HasSubstr("<test>:3: [apii]: unknown table (did you mean [api]?)"));
  EXPECT_THAT(error_of(kSpool + "[queue]\n"),
              HasSubstr("[queue]: unknown table (known tables: [api] [spool]"));
  EXPECT_THAT(error_of("verbose = true\n" + kSpool),
              HasSubstr("<test>:1: verbose = true: unknown key"));
  // Dotted keys are the same keys.
  EXPECT_THAT(error_of("api.conections = 3\n" + kSpool),
              HasSubstr("<test>:1: api.conections = 3: unknown key"));
  EXPECT_THAT(error_of(kSpool + "[spool.extra]\nx = 1\n"),
              HasSubstr("spool.extra = {...}: unknown key"));
}

TEST(LoadSettings, SpoolDirIsRequiredAndAbsolute) {
  EXPECT_EQ(error_of(""),
            "<test>: spool.dir: required: set it to the absolute path of the spool directory");
  EXPECT_THAT(error_of("[spool]\nmax_request_bytes = 2048\n"), HasSubstr("spool.dir: required"));
  EXPECT_THAT(error_of("[spool]\ndir = \"spool\"\n"),
              HasSubstr("spool.dir = \"spool\": must be an absolute path (starting with '/')"));
  EXPECT_THAT(error_of("[spool]\ndir = \"\"\n"),
              HasSubstr("spool.dir = \"\": must be an absolute path"));
  EXPECT_THAT(error_of(kSpool + "[state]\ndir = \"state\""),
              HasSubstr("state.dir = \"state\": must be an absolute path"));
  EXPECT_THAT(error_of(kSpool + "[api]\napi_key_file = \"key\""),
              HasSubstr("api.api_key_file = \"key\": must be an absolute path"));
}

TEST(LoadSettings, BaseUrlMustBeHttpsWithHost) {
  auto url_error = [](const std::string& url) {
    return error_of(kSpool + "[api]\nbase_url = \"" + url + "\"");
  };
  EXPECT_THAT(url_error("http://api.bytenite.com/v1"),
              HasSubstr("api.base_url = \"http://api.bytenite.com/v1\": must use https"));
  EXPECT_THAT(url_error("api.bytenite.com/v1"), HasSubstr("must be an https:// URL"));
  EXPECT_THAT(url_error("https:///v1"), HasSubstr("must have a host"));
  EXPECT_THAT(url_error("https://api.bytenite.com/v1?x=1"), HasSubstr("must not have a query"));
  EXPECT_THAT(url_error("https://api.bytenite.com/v1#top"), HasSubstr("must not have a fragment"));
  EXPECT_THAT(url_error("https://me:secret@api.bytenite.com/v1"),
              HasSubstr("must not contain user info"));
  EXPECT_THAT(url_error("https://api.bytenite.com:0/v1"),
              HasSubstr("the port must be a number between 1 and 65535"));
  EXPECT_THAT(url_error("https://api.bytenite.com:70000/v1"),
              HasSubstr("the port must be a number"));
  EXPECT_THAT(url_error("https://api.bytenite.com:/v1"), HasSubstr("the port must be a number"));
  EXPECT_THAT(url_error("https://api bytenite.com/v1"), HasSubstr("the host must be a DNS name"));
  EXPECT_THAT(url_error("https://api.bytenite.com/v1//jobs"), HasSubstr("the path must be"));
  EXPECT_THAT(url_error("https://api.bytenite.com/v1/../x"), HasSubstr("the path must be"));
}

TEST(LoadSettings, BaseUrlForms) {
  Settings s = parse(kSpool + "[api]\nbase_url = \"HTTPS://API.Example.COM\"");
  EXPECT_EQ(s.api.host, "api.example.com");
  EXPECT_EQ(s.api.base_path, "");
  EXPECT_EQ(s.api.customer_prefix(), "/customer");
  s = parse(kSpool + "[api]\nbase_url = \"https://[::1]:8443/v1/\"");
  EXPECT_EQ(s.api.host, "::1");
  EXPECT_EQ(s.api.port, 8443);
  EXPECT_EQ(s.api.authority(), "[::1]:8443");
  EXPECT_EQ(s.api.customer_prefix(), "/v1/customer");
  s = parse(kSpool + "[api]\nbase_url = \"https://127.0.0.1:443/\"");
  EXPECT_EQ(s.api.authority(), "127.0.0.1");
  EXPECT_EQ(s.api.base_path, "");
}

TEST(LoadSettings, CustomerPathIsOneSegment) {
  EXPECT_EQ(parse(kSpool + "[api]\ncustomer_path = \"computing\"").api.customer_prefix(),
            "/v1/computing");
  EXPECT_THAT(error_of(kSpool + "[api]\ncustomer_path = \"a/b\""),
              HasSubstr("api.customer_path = \"a/b\": must be one URL path segment"));
  EXPECT_THAT(error_of(kSpool + "[api]\ncustomer_path = \"\""),
              HasSubstr("must be one URL path segment"));
  EXPECT_THAT(error_of(kSpool + "[api]\ncustomer_path = \"..\""),
              HasSubstr("must be one URL path segment"));
}

TEST(LoadSettings, CaFileMustBeReadableAtLoad) {
  testing::TempDir tmp;
  auto missing = (tmp.path() / "nope.pem").string();
  EXPECT_THAT(
      error_of(kSpool + "[api]\nca_file = \"" + missing + "\""),
      HasSubstr("api.ca_file = \"" + missing + "\": cannot open: No such file or directory"));
  EXPECT_THAT(error_of(kSpool + "[api]\nca_file = \"" + tmp.path().string() + "\""),
              HasSubstr(": not a regular file"));
}

TEST(LoadSettings, MetricsListen) {
  auto listen = [](const std::string& v) {
    return parse(kSpool + "[metrics]\nlisten = \"" + v + "\"").metrics;
  };
  auto listen_error = [](const std::string& v) {
    return error_of(kSpool + "[metrics]\nlisten = \"" + v + "\"");
  };
  EXPECT_FALSE(listen("").enabled);
  EXPECT_EQ(listen("0.0.0.0:9100").host, "0.0.0.0");
  EXPECT_EQ(listen("0.0.0.0:9100").port, 9100);
  EXPECT_EQ(listen("localhost:65535").port, 65535);
  EXPECT_EQ(listen("[::]:9464").host, "::");
  EXPECT_THAT(listen_error("localhost"), HasSubstr("metrics.listen = \"localhost\": missing port"));
  EXPECT_THAT(listen_error(":9464"),
              HasSubstr("missing host (use 0.0.0.0 or [::] for all interfaces)"));
  EXPECT_THAT(listen_error("127.0.0.1:65536"),
              HasSubstr("the port must be a number between 0 and 65535"));
  EXPECT_THAT(listen_error("127.0.0.1:http"), HasSubstr("the port must be a number"));
  EXPECT_THAT(listen_error("::1:9464"), HasSubstr("an IPv6 address must be written in brackets"));
  EXPECT_THAT(listen_error("[::1"), HasSubstr("unterminated '['"));
  EXPECT_THAT(listen_error("[zz]:1"), HasSubstr("not a valid IPv6 address"));
}

TEST(LoadSettings, LogLevel) {
  EXPECT_EQ(parse(kSpool + "[log]\nlevel = \"warning\"").log.level, LogLevel::warning);
  EXPECT_EQ(parse(kSpool + "[log]\nlevel = \"error\"").log.level, LogLevel::error);
  EXPECT_THAT(error_of(kSpool + "[log]\nlevel = \"verbose\""),
              HasSubstr("log.level = \"verbose\": must be one of debug, info, warning, error"));
  EXPECT_EQ(to_string(LogLevel::warning), "warning");
}

TEST(LoadSettings, ControlSocketPathFitsSunPath) {
  std::string ok = "/" + std::string(106, 's');
  EXPECT_EQ(parse(kSpool + "[control]\nsocket = \"" + ok + "\"").control.socket->native().size(),
            107u);
  EXPECT_THAT(error_of(kSpool + "[control]\nsocket = \"/" + std::string(107, 's') + "\""),
              HasSubstr("too long for a Unix socket path (at most 107 bytes)"));
}

TEST(LoadSettings, ValueShownEscapedAndShortened) {
  EXPECT_THAT(error_of(kSpool + "[log]\nlevel = \"a\\u0001\\\"b\""),
              HasSubstr("log.level = \"a\\u0001\\\"b\": must be one of"));
  std::string message = error_of(kSpool + "[log]\nlevel = \"" + std::string(500, 'x') + "\"");
  EXPECT_LT(message.size(), 330u);
  EXPECT_THAT(message, HasSubstr("...\": must be one of"));
}

TEST(LoadSettings, InvalidTomlNamesPosition) {
  EXPECT_THAT(error_of(kSpool + "[api\n"), StartsWith("<test>:3:"));
  EXPECT_THAT(error_of(kSpool + "[api\n"), HasSubstr("not valid TOML"));
  EXPECT_THAT(error_of(kSpool + "dir = \"/other\"\n"),
              HasSubstr("not valid TOML"));  // redefined key
}

TEST(LoadSettings, KnownKeysListsTheSchema) {
  auto keys = known_keys();
  EXPECT_EQ(keys.size(), 60u);
  EXPECT_NE(std::find(keys.begin(), keys.end(), "api.adaptive"), keys.end());
  EXPECT_EQ(keys.front(), "api.base_url");
  EXPECT_NE(std::find(keys.begin(), keys.end(), "submit.force_test_jobs"), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), "control.max_connections"), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), "upload.allowed_dirs"), keys.end());
}

}  // namespace
}  // namespace submitd::config
