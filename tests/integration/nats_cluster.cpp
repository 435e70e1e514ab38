// Role: the three-node NATS cluster of the tests (see nats_cluster.hpp).
#include "nats_cluster.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <stdexcept>

#include "jetstream/jetstream_client.hpp"

namespace submitd::testing {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// A port the kernel had free a moment ago (nats-server cannot be told port 0 for its routes,
// which every node must know in advance).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

NatsCluster::NatsCluster(const fs::path& dir) : dir_(dir) {
  for (int i = 0; i < 3; ++i) {
    client_ports_[i] = free_port();
    route_ports_[i] = free_port();
  }
  std::string routes;
  for (int port : route_ports_) routes += (routes.empty() ? "" : ", ") + ("\"nats-route://127.0.0.1:" + std::to_string(port) + "\"");
  for (int i = 0; i < 3; ++i) {
    const fs::path node = dir_ / ("n" + std::to_string(i));
    fs::create_directories(node / "store");
    write_file(node / "nats.conf", "server_name: n" + std::to_string(i) + "\nlisten: 127.0.0.1:" +
                                       std::to_string(client_ports_[i]) + "\njetstream {\n  store_dir: \"" +
                                       (node / "store").string() + "\"\n}\ncluster {\n  name: test\n  listen: 127.0.0.1:" +
                                       std::to_string(route_ports_[i]) + "\n  routes: [" + routes + "]\n}\n");
    start_node(i);
  }
  // Up once an R3 stream can be made (a JetStream meta leader is elected).
  const bool up = eventually(
      [&] {
        try {
          jetstream::Client client({urls(), {}, {}, 2000ms});
          client.ensure_stream({"CLUSTER_PROBE", {"cluster.probe"}, 3, false});
          return true;
        } catch (const jetstream::JetStreamError&) {
          return false;
        }
      },
      60s);
  if (!up) {
    ADD_FAILURE() << "the NATS cluster did not come up:\n" << read_file(dir_ / "n0" / "log");
    throw std::runtime_error("no NATS cluster");
  }
}

NatsCluster::~NatsCluster() {
  for (int i = 0; i < 3; ++i) {
    if (nodes_[i]) stop_node(i);
  }
}

std::vector<std::string> NatsCluster::urls() const {
  std::vector<std::string> out;
  for (int port : client_ports_) out.push_back("nats://127.0.0.1:" + std::to_string(port));
  return out;
}

void NatsCluster::stop_node(int i) {
  if (!nodes_[i]) return;
  nodes_[i]->signal(SIGTERM);
  if (!nodes_[i]->wait_exit(20s)) nodes_[i]->signal(SIGKILL);
  nodes_[i]->wait_exit(5s);
  nodes_[i].reset();
}

void NatsCluster::start_node(int i) {
  const fs::path node = dir_ / ("n" + std::to_string(i));
  nodes_[i] = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/sbin/nats-server", "-c", (node / "nats.conf").string()}, node / "log");
}

}  // namespace submitd::testing
