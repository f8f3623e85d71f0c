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

RedisCluster::RedisCluster(int primaries) : RedisCluster(RedisClusterOptions{primaries, 0, 15000}) {}

RedisCluster::RedisCluster(RedisClusterOptions options) {
  const int primaries = options.primaries;
  if (primaries < 1 || options.replicas < 0) throw std::invalid_argument("a cluster needs at least one primary");
  RedisServerOptions o;
  o.cluster = true;
  o.cluster_owns_every_slot = false;
  o.extra_args = {"--cluster-node-timeout", std::to_string(options.node_timeout_ms)};
  const int total = primaries * (1 + options.replicas);
  for (int i = 0; i < total; ++i) {
    nodes_.push_back(std::make_unique<RedisServer>(o));
    const redis::Reply id = nodes_.back()->call({"CLUSTER", "MYID"});
    check(id, "CLUSTER MYID");
    ids_.emplace_back(id.str());
  }
  for (int i = 0; i < primaries; ++i) {
    const int from = i * redis::kClusterSlots / primaries;
    const int to = (i + 1) * redis::kClusterSlots / primaries - 1;
    check(node(i).call({"CLUSTER", "ADDSLOTSRANGE", std::to_string(from), std::to_string(to)}), "CLUSTER ADDSLOTSRANGE");
  }
  for (int i = 1; i < total; ++i) {
    check(node(i).call({"CLUSTER", "MEET", "127.0.0.1", std::to_string(node(0).port())}), "CLUSTER MEET");
  }
  const auto deadline = Clock::now() + 30s;
  // A replica can follow its primary once it knows it.
  for (int i = primaries; i < total; ++i) {
    const std::string& primary = ids_[static_cast<std::size_t>(i % primaries)];
    for (;;) {
      const redis::Reply r = node(i).call({"CLUSTER", "REPLICATE", primary});
      if (!r.is_error()) break;
      if (Clock::now() >= deadline) throw std::runtime_error("CLUSTER REPLICATE: " + std::string(r.str()));
      std::this_thread::sleep_for(20ms);
    }
  }
  const std::string known = "cluster_known_nodes:" + std::to_string(total);
  for (int i = 0; i < total;) {
    const redis::Reply info = node(i).call({"CLUSTER", "INFO"});
    const std::string_view text = info.str();
    bool ok = text.find("cluster_state:ok") != std::string_view::npos && text.find(known) != std::string_view::npos &&
              text.find("cluster_slots_ok:16384") != std::string_view::npos;
    if (ok && i >= primaries) {
      ok = node(i).call({"INFO", "replication"}).str().find("master_link_status:up") != std::string_view::npos;
    }
    if (ok) {
      ++i;
      continue;
    }
    if (Clock::now() >= deadline) {
      throw std::runtime_error("the cluster of " + std::to_string(total) + " nodes did not settle in 30 s; node " +
                               std::to_string(i) + "'s CLUSTER INFO:\n" + std::string(text));
    }
    std::this_thread::sleep_for(20ms);
  }
}

void RedisCluster::migrate_slot(int slot, int from, int to, int batch) {
  const std::string s = std::to_string(slot);
  check(node(to).call({"CLUSTER", "SETSLOT", s, "IMPORTING", id(from)}), "CLUSTER SETSLOT IMPORTING");
  check(node(from).call({"CLUSTER", "SETSLOT", s, "MIGRATING", id(to)}), "CLUSTER SETSLOT MIGRATING");
  for (;;) {
    const redis::Reply keys = node(from).call({"CLUSTER", "GETKEYSINSLOT", s, std::to_string(batch)});
    check(keys, "CLUSTER GETKEYSINSLOT");
    if (keys.size() == 0) break;
    std::vector<std::string> migrate{"MIGRATE", "127.0.0.1", std::to_string(node(to).port()), "", "0", "5000", "KEYS"};
    for (const redis::Reply& k : keys.elements()) migrate.emplace_back(k.str());
    check(node(from).call(migrate, 10s), "MIGRATE");
  }
  check(node(to).call({"CLUSTER", "SETSLOT", s, "NODE", id(to)}), "CLUSTER SETSLOT NODE");
  check(node(from).call({"CLUSTER", "SETSLOT", s, "NODE", id(to)}), "CLUSTER SETSLOT NODE");
  for (int i = 0; i < size(); ++i) {
    if (i != from && i != to && node(i).running()) (void)node(i).call({"CLUSTER", "SETSLOT", s, "NODE", id(to)});
  }
}

void RedisCluster::wait_primary(int n, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string port = ":" + std::to_string(node(n).port()) + "@";
  for (;;) {
    bool everywhere = true;
    for (int i = 0; i < size() && everywhere; ++i) {
      if (!node(i).running()) continue;
      const redis::Reply nodes = node(i).call({"CLUSTER", "NODES"});
      const std::string_view text = nodes.str();
      const std::size_t at = text.find(port);
      const std::size_t eol = at == std::string_view::npos ? at : text.find('\n', at);
      const std::string_view line = at == std::string_view::npos ? std::string_view() : text.substr(at, eol - at);
      // "<id> <ip:port@bus> <flags> <primary> <ping> <pong> <epoch> <link> <slots...>"
      everywhere = line.find("master") != std::string_view::npos && line.find("fail") == std::string_view::npos &&
                   line.find(" connected ") != std::string_view::npos &&
                   line.substr(line.find(" connected ") + 11).find_first_of("0123456789") != std::string_view::npos;
      if (everywhere) {
        everywhere = node(i).call({"CLUSTER", "INFO"}).str().find("cluster_state:ok") != std::string_view::npos;
      }
    }
    if (everywhere) return;
    if (Clock::now() >= deadline) {
      throw std::runtime_error("node " + std::to_string(n) + " did not become a primary serving slots within " +
                               std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(50ms);
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
