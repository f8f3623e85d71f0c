#include "support/redis_sentinel.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "support/redis_server.h"

namespace steadfast::test {

using namespace std::chrono_literals;

RedisSentinel::RedisSentinel(std::uint16_t primary_port)
    : dir_(make_temp_dir("steadfast-sentinel-")), port_(free_port()), name_("m" + std::to_string(primary_port)) {
  {
    std::ofstream conf(dir_ + "/sentinel.conf");
    conf << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_ << "\n"
         << "sentinel monitor " << name_ << " 127.0.0.1 " << primary_port << " 1\n"
         << "sentinel down-after-milliseconds " << name_ << " 1000\n"
         << "sentinel failover-timeout " << name_ << " 10000\n";
  }
  proc::SpawnOptions o;
  o.argv = {"redis-server", dir_ + "/sentinel.conf", "--sentinel"};
  o.out = proc::Stdio::append_to(dir_ + "/sentinel.log");
  o.err = proc::Stdio::append_to(dir_ + "/sentinel.log");
  child_ = proc::Child(o);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (cli({"PING"}) != "PONG") {
    if (std::chrono::steady_clock::now() > until) throw std::runtime_error("the Sentinel did not start: " + log());
    std::this_thread::sleep_for(20ms);
  }
}

RedisSentinel::~RedisSentinel() {
  child_.kill();
  if (::testing::Test::HasFailure()) std::cerr << "---- the Sentinel's log\n" << log() << "----\n";
  std::filesystem::remove_all(dir_);
}

std::string RedisSentinel::url() const {
  return "redis+sentinel://127.0.0.1:" + std::to_string(port_) + "/" + name_;
}

std::string RedisSentinel::cli(std::vector<std::string> args) const {
  std::vector<std::string> argv{"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out = run_process(argv, 5s).output;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string RedisSentinel::primary_port() const {
  const std::string out = cli({"SENTINEL", "get-master-addr-by-name", name_});
  return out.substr(out.find('\n') + 1);
}

bool RedisSentinel::knows_replica(std::uint16_t port) const {
  return cli({"SENTINEL", "REPLICAS", name_}).find(std::to_string(port)) != std::string::npos;
}

std::string RedisSentinel::log() const {
  std::ifstream in(dir_ + "/sentinel.log");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace steadfast::test
