#include "support/shared_redis.h"

#include <cstdlib>
#include <stdexcept>

namespace steadfast::test {

namespace {

// "MOVED <slot> <host>:<port>" -> port; 0 when `error` is no MOVED.
int moved_to_port(std::string_view error) {
  if (!error.starts_with("MOVED ")) return 0;
  const std::size_t colon = error.rfind(':');
  if (colon == std::string_view::npos) return 0;
  return std::atoi(std::string(error.substr(colon + 1)).c_str());
}

bool to_every_primary(const std::vector<std::string>& args) {
  if (args.empty()) return false;
  auto is = [](const std::string& a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (std::toupper(static_cast<unsigned char>(a[i])) != b[i]) return false;
    }
    return true;
  };
  return is(args[0], "FLUSHALL") || is(args[0], "FLUSHDB") ||
         (args.size() >= 2 && is(args[0], "SCRIPT") && is(args[1], "FLUSH"));
}

}  // namespace

SharedRedis::Kind SharedRedis::kind_from_environment() {
  const char* v = std::getenv("STEADFAST_TEST_CLUSTER");
  const std::string_view s = v == nullptr ? std::string_view() : std::string_view(v);
  if (s == "1") return Kind::one_node_cluster;
  if (s == "3") return Kind::three_primaries;
  return Kind::single;
}

SharedRedis::SharedRedis(Kind kind) : kind_(kind) {
  if (kind == Kind::three_primaries) {
    cluster_ = std::make_unique<RedisCluster>(3);
    return;
  }
  RedisServerOptions options;
  options.cluster = kind == Kind::one_node_cluster;
  server_ = std::make_unique<RedisServer>(std::move(options));
}

RedisServer& SharedRedis::first() const { return server_ ? *server_ : cluster_->node(0); }

std::string SharedRedis::url() const { return cluster_ ? cluster_->url() : server_->url(); }

redis::Reply SharedRedis::call(std::initializer_list<std::string_view> args, std::chrono::milliseconds timeout) const {
  return call(std::vector<std::string>(args.begin(), args.end()), timeout);
}

redis::Reply SharedRedis::call(const std::vector<std::string>& args, std::chrono::milliseconds timeout) const {
  if (!cluster_) return server_->call(args, timeout);
  if (to_every_primary(args)) {
    redis::Reply first_reply;
    for (int i = cluster_->size() - 1; i >= 0; --i) first_reply = cluster_->node(i).call(args, timeout);
    return first_reply;
  }
  redis::Reply reply = first().call(args, timeout);
  if (const int port = reply.is_error() ? moved_to_port(reply.str()) : 0; port != 0) {
    for (int i = 0; i < cluster_->size(); ++i) {
      if (cluster_->node(i).port() == port) return cluster_->node(i).call(args, timeout);
    }
  }
  return reply;
}

RedisServer& SharedRedis::only_server() const {
  if (cluster_) throw std::logic_error("SharedRedis::only_server: the shared Redis is a cluster of three primaries");
  return *server_;
}

bool SharedRedis::running() const {
  if (server_) return server_->running();
  for (int i = 0; i < cluster_->size(); ++i) {
    if (!cluster_->node(i).running()) return false;
  }
  return true;
}

void SharedRedis::kill() {
  if (cluster_) throw std::logic_error("SharedRedis::kill: not on a cluster of three primaries (a test of its own)");
  server_->kill();
}

void SharedRedis::start() {
  if (cluster_) {
    if (!running()) throw std::logic_error("SharedRedis::start: a node of the three primaries is down");
    return;
  }
  server_->start();
}

}  // namespace steadfast::test
