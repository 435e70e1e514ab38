// Role: a real three-node NATS cluster with JetStream (file storage) on 127.0.0.1 for tests
// (issue 20): nats-server processes with their own configs, ports and store directories under
// a test's temp directory, stopped (and killed if need be) with the object. The one place
// tests start NATS. A node can be stopped and started again to test a fleet through it.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"

namespace submitd::testing {

class NatsCluster {
 public:
  // Starts three nodes and waits until the cluster has a JetStream leader (R3 streams can
  // be made); fails the test (and throws) if it does not come up within a minute.
  explicit NatsCluster(const std::filesystem::path& dir);
  ~NatsCluster();

  // nats://127.0.0.1:<port> of every node.
  std::vector<std::string> urls() const;
  void stop_node(int i);   // SIGTERM, and wait for it to exit
  void start_node(int i);  // again, with the same config and store

 private:
  std::filesystem::path dir_;
  std::array<int, 3> client_ports_{};
  std::array<int, 3> route_ports_{};
  std::array<std::unique_ptr<ChildProcess>, 3> nodes_;
};

}  // namespace submitd::testing
