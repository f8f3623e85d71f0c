#include "support/redis_cluster.h"

#include <chrono>
#include <stdexcept>
#include <thread>

#include "redis/slot.h"

namespace steadfast::test {

namespace {
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

void check(const redis::Reply& r, const std::string& what) {
  if (r.is_error()) throw std::runtime_error(what + ": " + std::string(r.str()));
}
}  // namespace

RedisCluster::RedisCluster(int primaries) {
  if (primaries < 1) throw std::invalid_argument("a cluster needs at least one primary");
  RedisServerOptions o;
  o.cluster = true;
  o.cluster_owns_every_slot = false;
  for (int i = 0; i < primaries; ++i) {
    nodes_.push_back(std::make_unique<RedisServer>(o));
    const redis::Reply id = nodes_.back()->call({"CLUSTER", "MYID"});
    check(id, "CLUSTER MYID");
    ids_.emplace_back(id.str());
  }
  for (int i = 0; i < primaries; ++i) {
    const int from = i * redis::kClusterSlots / primaries;
    const int to = (i + 1) * redis::kClusterSlots / primaries - 1;
    check(node(i).call({"CLUSTER", "ADDSLOTSRANGE", std::to_string(from), std::to_string(to)}), "CLUSTER ADDSLOTSRANGE");
    if (i > 0) check(node(i).call({"CLUSTER", "MEET", "127.0.0.1", std::to_string(node(0).port())}), "CLUSTER MEET");
  }
  const auto deadline = Clock::now() + 20s;
  const std::string known = "cluster_known_nodes:" + std::to_string(primaries);
  for (int i = 0; i < primaries;) {
    const redis::Reply info = node(i).call({"CLUSTER", "INFO"});
    const std::string_view text = info.str();
    if (text.find("cluster_state:ok") != std::string_view::npos && text.find(known) != std::string_view::npos &&
        text.find("cluster_slots_ok:16384") != std::string_view::npos) {
      ++i;
      continue;
    }
    if (Clock::now() >= deadline) {
      throw std::runtime_error("the cluster of " + std::to_string(primaries) + " did not settle in 20 s; node " +
                               std::to_string(i) + "'s CLUSTER INFO:\n" + std::string(text));
    }
    std::this_thread::sleep_for(20ms);
  }
}

std::string RedisCluster::url() const { return "redis+cluster://127.0.0.1:" + std::to_string(nodes_.front()->port()); }

int RedisCluster::owner_of(int slot) {
  const redis::Reply slots = node(0).call({"CLUSTER", "SLOTS"});
  check(slots, "CLUSTER SLOTS");
  for (const redis::Reply& range : slots.elements()) {
    if (slot < range[0].as_integer() || slot > range[1].as_integer()) continue;
    const long long port = range[2][1].as_integer();
    for (int i = 0; i < size(); ++i) {
      if (node(i).port() == port) return i;
    }
  }
  return -1;
}

void RedisCluster::move_empty_slot(int slot, int to) {
  // The new owner first, then the rest (the order redis-cli uses).
  check(node(to).call({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", id(to)}), "CLUSTER SETSLOT NODE");
  for (int i = 0; i < size(); ++i) {
    if (i != to) check(node(i).call({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", id(to)}), "CLUSTER SETSLOT NODE");
  }
}

}  // namespace steadfast::test
