// bytenite-emulator: a local, faithful stand-in for the ByteNite REST API over TLS, used by
// the integration tests, the demo and the benchmarks. This file only wires things up:
// options -> TLS material -> Emulator -> HTTPS server, plus the ready file and the one
// "listening" line that scripts wait for. API keys and tokens are never printed.
#include <unistd.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "certificate_authority.hpp"
#include "command_line.hpp"
#include "emulator.hpp"
#include "https_server.hpp"

namespace fs = std::filesystem;
using namespace emulator;

namespace {

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(std::string(what) + ": cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> read_api_keys(const std::string& path) {
  std::vector<std::string> keys;
  std::istringstream lines(read_file(path, "--api-key-file"));
  for (std::string line; std::getline(lines, line);) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t\r");
    keys.push_back(line.substr(first, last - first + 1));
  }
  if (keys.empty()) throw std::runtime_error("--api-key-file " + path + ": no keys in it");
  return keys;
}

// Written to a temporary name and renamed, so a reader never sees a half-written file.
void write_file_atomically(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, path);
}

fs::path make_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/bytenite-emulator.XXXXXX";
  if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed for " + templ);
  return templ;
}

}  // namespace

int main(int argc, char** argv) {
  const ParsedCommandLine parsed =
      parse_command_line(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.options) {
    std::cerr << "bytenite-emulator: " << parsed.error << "\n";
    return 2;
  }
  const CommandLine& opt = *parsed.options;
  if (opt.help) {
    std::cout << usage();
    return 0;
  }
  std::signal(SIGPIPE, SIG_IGN);  // a vanished client must not kill the server

  fs::path temp_dir;  // removed on exit when we created it
  fs::path ready_file;
  int status = 0;
  try {
    EmulatorSettings settings;
    settings.api_keys = opt.api_keys;
    if (!opt.api_key_file.empty()) {
      auto more = read_api_keys(opt.api_key_file);
      settings.api_keys.insert(settings.api_keys.end(), more.begin(), more.end());
    }
    if (settings.api_keys.empty()) settings.api_keys = {"demo-key"};
    settings.customer_path = opt.customer_path;
    settings.job_duration = std::chrono::milliseconds{opt.job_duration_ms};
    settings.result_bytes = opt.result_bytes;
    settings.token_lifetime = std::chrono::seconds{opt.token_lifetime_s};
    settings.faults = opt.faults;
    settings.account_limit = opt.account_limit;
    settings.seed = opt.seed;

    ServerSettings server;
    server.host = opt.listen_host;
    server.port = opt.listen_port;
    server.storage_port = opt.storage_port;
    server.threads = opt.threads;
    server.idle_timeout = std::chrono::seconds{opt.idle_timeout_s};

    fs::path ca_file;
    if (!opt.cert_file.empty()) {
      server.cert_chain_pem = read_file(opt.cert_file, "--cert");
      server.key_pem = read_file(opt.key_file, "--key");
      // With a supplied chain, the chain file is what clients should trust
      // (self-signed, or its last certificate is the CA).
      ca_file = fs::absolute(opt.cert_file);
    } else {
      TlsMaterial tls = make_throwaway_chain(opt.hostname);
      fs::path dir;
      if (opt.cert_dir.empty()) {
        temp_dir = make_temp_dir();
        dir = temp_dir;
      } else {
        dir = opt.cert_dir;
        fs::create_directories(dir);
      }
      ca_file = fs::absolute(dir / "ca.pem");
      write_file_atomically(ca_file, tls.ca_pem);
      server.cert_chain_pem = std::move(tls.cert_chain_pem);
      server.key_pem = std::move(tls.key_pem);
    }

    if (!opt.quiet) {
      // Configuration at start, for the demo's terminal; never the keys themselves.
      const auto& f = opt.faults;
      std::cerr << "bytenite-emulator: " << settings.api_keys.size()
                << " API key(s), customer API at /v1/" << opt.customer_path << ", job duration "
                << opt.job_duration_ms << " ms, token lifetime " << opt.token_lifetime_s
                << " s, faults: 503=" << f.fail_503 << " 429=" << f.fail_429
                << " reset-before=" << f.reset_before << " reset-after=" << f.reset_after
                << " latency=" << f.latency_ms << " ms\n";
    }
    SystemClock clock;
    Emulator emulator(std::move(settings), clock);
    serve_https(server, emulator, [&](std::uint16_t port, std::uint16_t storage_port) {
      if (!opt.ready_file.empty()) {
        boost::json::object ready;
        ready["port"] = port;
        ready["storagePort"] = storage_port;
        ready["caFile"] = ca_file.string();
        ready["pid"] = static_cast<std::int64_t>(::getpid());
        ready_file = fs::absolute(opt.ready_file);
        write_file_atomically(ready_file, boost::json::serialize(ready) + "\n");
      }
      const std::string host = opt.listen_host.find(':') != std::string::npos
                                   ? "[" + opt.listen_host + "]"
                                   : opt.listen_host;
      std::printf("bytenite-emulator listening on https://%s:%u (storage on port %u; ca: %s)\n", host.c_str(),
                  static_cast<unsigned>(port), static_cast<unsigned>(storage_port), ca_file.c_str());
      std::fflush(stdout);
    });
    if (!opt.quiet) std::cerr << "bytenite-emulator: stopping on signal\n";
  } catch (const std::exception& e) {
    std::cerr << "bytenite-emulator: " << e.what() << "\n";
    status = 1;
  }

  // A stale ready file would point the next reader at a dead port.
  std::error_code ignored;
  if (!ready_file.empty()) fs::remove(ready_file, ignored);
  if (!temp_dir.empty()) fs::remove_all(temp_dir, ignored);
  return status;
}
