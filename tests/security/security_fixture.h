// The fixture of the security tests: real `steadfast serve`, `steadfast
// worker` and CLI processes (tests/fault's process helper) against a real
// redis-server — the test binary's shared one, or a private one the test
// starts (ACL users, TLS) — and the raw HTTP client of tests/api.
//
// Every process a test starts is SIGKILLed and reaped by PID at its end; on a
// failure the tails of their logs are printed.
#pragma once

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <array>
#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/http_client.h"
#include "fault/worker_process.h"
#include "steadfast/json.h"
#include "support/redis_test.h"

#ifndef STEADFAST_BIN
#error "STEADFAST_BIN (the path of the steadfast CLI) must be defined"
#endif
#ifndef STEADFAST_SOURCE_DIR
#error "STEADFAST_SOURCE_DIR (the project's source folder) must be defined"
#endif

namespace steadfast::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Polls pred every `every` until it holds or timeout passes; returns its last value.
inline bool eventually(const std::function<bool()>& pred, milliseconds timeout,
                       milliseconds every = 20ms) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(every);
  }
}

// VmRSS of a process in KiB (0 if gone).
inline long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return 0;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Occurrences of needle in haystack.
inline int count_of(std::string_view haystack, std::string_view needle) {
  int n = 0;
  for (auto at = haystack.find(needle); at != std::string_view::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

inline std::string hex_of(const unsigned char* bytes, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

// A fresh random secret: 64 hex digits, as `openssl rand -hex 32` makes them.
inline std::string new_token() {
  std::random_device rd;
  std::array<unsigned char, 32> b{};
  for (auto& x : b) x = static_cast<unsigned char>(rd());
  return hex_of(b.data(), b.size());
}

inline std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> h{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), h.data());
  return hex_of(h.data(), h.size());
}

// The tokens-file line of a token: "sha256:<hex> <role> <name>".
inline std::string token_line(const std::string& token, const std::string& role,
                              const std::string& name) {
  return "sha256:" + sha256_hex(token) + " " + role + " " + name + "\n";
}

// The `user` lines of examples/redis-acl.conf (comments dropped, as for an
// aclfile) with the two CHANGE-ME passwords filled in.
inline std::string example_acl_rules(const std::string& worker_password,
                                     const std::string& api_password) {
  std::istringstream in(read_text(std::string(STEADFAST_SOURCE_DIR) + "/examples/redis-acl.conf"));
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("user ")) continue;
    for (const auto& [from, to] :
         {std::pair<std::string, std::string>{"CHANGE-ME-worker-password", worker_password},
          {"CHANGE-ME-api-password", api_password}}) {
      if (const auto at = line.find(from); at != std::string::npos)
        line.replace(at, from.size(), to);
    }
    out += line + "\n";
  }
  return out;
}

inline Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

class SecurityTest : public RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    url_ = server().url();
    redis_ = &server().only_server();
  }

  void TearDown() override {
    if (HasFailure()) {
      for (const auto& c : children_) {
        std::cout << "---- " << c->log_path() << " (pid " << c->pid() << ")\n"
                  << tail_of(c->log(), 4000) << "\n";
      }
    }
    children_.clear();  // SIGKILL + reap, by PID
    RedisTest::TearDown();
  }

  // Points the processes the test starts at another Redis (ACL users, TLS):
  // `url` for them, `server` for the test's own inspection.
  void use_redis(const std::string& url, const RedisServer& server) {
    url_ = url;
    redis_ = &server;
  }
  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  [[nodiscard]] const RedisServer& redis() const noexcept { return *redis_; }
  [[nodiscard]] ScratchDir& dir() noexcept { return dir_; }

  std::string write_file(const std::string& name, std::string_view content) {
    return dir_.write_file(name, content);
  }

  // Any process; its output goes to <scratch>/<name>.log. The fixture owns it.
  ChildProcess& spawn(const std::string& name, const std::vector<std::string>& argv) {
    auto child = std::make_unique<ChildProcess>(argv, dir_, dir_.path() + "/" + name + ".log");
    children_.push_back(std::move(child));
    return *children_.back();
  }

  // `steadfast worker` on url() (or `redis_url`); waits until it serves.
  ChildProcess& start_worker(const std::string& id, const std::string& workflows,
                             std::vector<std::string> extra = {},
                             const std::string& redis_url = {}) {
    std::vector<std::string> argv{STEADFAST_BIN,   "worker",
                                  "--workflows",   workflows,
                                  "--redis",       redis_url.empty() ? url_ : redis_url,
                                  "--id",          id,
                                  "--concurrency", "4"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ChildProcess& w = spawn("worker-" + id, argv);
    // Readiness is the one log line read here, on purpose: these workers run
    // as least-privilege ACL users and over TLS, so they cannot name their
    // connections (CLIENT SETNAME is outside docs/security.md's ACL) as the
    // fault fixture's do, and the registry entry is written before the
    // workflows are registered (a submit right after it could meet an unknown
    // workflow). "serving" is printed after start-up has finished.
    if (!w.wait_for_log("serving", 15s)) {
      throw std::runtime_error("worker " + id + " did not start:\n" + tail_of(w.log()));
    }
    return w;
  }

  struct Serve {
    ChildProcess* process = nullptr;
    std::uint16_t port = 0;
  };

  // `steadfast serve --listen 127.0.0.1:0` on url() (or `redis_url`); waits
  // for its "listening on" line and reads the port from it, then (unless
  // wait_ready is false) for "api: ready": set up in Redis, serving routes.
  Serve start_serve(const std::string& workflows, std::vector<std::string> extra = {},
                    const std::string& redis_url = {}, bool wait_ready = true) {
    std::vector<std::string> argv{
        STEADFAST_BIN, "serve",       "--workflows", workflows,
        "--listen",    "127.0.0.1:0", "--redis",     redis_url.empty() ? url_ : redis_url};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ChildProcess& p = spawn("serve-" + std::to_string(++serves_), argv);
    // http:// or, with --tls-cert, https://
    if (!p.wait_for_log("://127.0.0.1:", 15s)) {
      throw std::runtime_error("serve did not start:\n" + tail_of(p.log()));
    }
    if (wait_ready && !p.wait_for_log("api: ready", 15s)) {
      throw std::runtime_error("serve did not get ready:\n" + tail_of(p.log()));
    }
    const std::string log = p.log();
    const auto at = log.find("://127.0.0.1:", log.find("listening on ")) + std::string_view("://127.0.0.1:").size();
    return Serve{&p, static_cast<std::uint16_t>(
                         std::stoi(log.substr(at, log.find_first_not_of("0123456789", at) - at)))};
  }

  // `steadfast <args...> --redis URL`.
  CommandResult cli(std::vector<std::string> args, const std::string& redis_url = {},
                    milliseconds timeout = 30s) {
    args.insert(args.begin(), STEADFAST_BIN);
    args.insert(args.end(), {"--redis", redis_url.empty() ? url_ : redis_url});
    return run_command(args, dir_, timeout);
  }

  // Every key of redis() (SCAN, so it works where KEYS is denied too).
  std::set<std::string> all_keys() const {
    std::set<std::string> out;
    std::string cursor = "0";
    do {
      const redis::Reply r = redis_->call({"SCAN", cursor, "COUNT", "1000"});
      cursor = std::string(r[0].str());
      for (const auto& k : r[1].elements()) out.emplace(k.str());
    } while (cursor != "0");
    return out;
  }

  // The whole keyspace as text: each key's name, type, TTL and every value it
  // holds (strings, hash fields, stream entries, consumer groups and
  // consumers, set and sorted-set members), plus DUMP of each key.
  std::string keyspace_text() const {
    std::string out;
    const auto add = [&](const redis::Reply& r, const auto& self) -> void {
      if (r.is_array()) {
        for (const auto& e : r.elements()) self(e, self);
      } else if (!r.is_nil()) {
        out += r.str();
        out += '\n';
      }
    };
    for (const std::string& k : all_keys()) {
      out += "== " + k + "\n";
      const std::string type(redis_->call({"TYPE", k}).str());
      out += "type " + type + "\n";
      if (type == "string") add(redis_->call({"GET", k}), add);
      if (type == "hash") add(redis_->call({"HGETALL", k}), add);
      if (type == "set") add(redis_->call({"SMEMBERS", k}), add);
      if (type == "zset") add(redis_->call({"ZRANGE", k, "0", "-1", "WITHSCORES"}), add);
      if (type == "list") add(redis_->call({"LRANGE", k, "0", "-1"}), add);
      if (type == "stream") {
        add(redis_->call({"XRANGE", k, "-", "+"}), add);
        const redis::Reply groups = redis_->call({"XINFO", "GROUPS", k});
        add(groups, add);
        for (const auto& g : groups.elements()) {
          for (std::size_t i = 0; i + 1 < g.size(); i += 2) {
            if (g[i].str() == "name")
              add(redis_->call({"XINFO", "CONSUMERS", k, g[i + 1].str()}), add);
          }
        }
      }
      add(redis_->call({"DUMP", k}), add);
    }
    return out;
  }

  // The logs of every process the test started so far.
  std::string all_logs() const {
    std::string out;
    for (const auto& c : children_) out += c->log();
    return out;
  }

  static void expect_problem(const HttpResponse& r, int status,
                             std::string_view detail_holds = {}) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << r.body;
    const Json p = r.json();
    ASSERT_TRUE(p.is_object()) << r.body;
    EXPECT_TRUE(p.contains("type") && p["type"].is_string()) << r.body;
    EXPECT_EQ(p.value("status", 0), status) << r.body;
    ASSERT_TRUE(p.contains("detail") && p["detail"].is_string()) << r.body;
    if (!detail_holds.empty()) {
      EXPECT_NE(p["detail"].get<std::string>().find(detail_holds), std::string::npos)
          << "detail lacks '" << detail_holds << "': " << r.body;
    }
  }

 private:
  std::string url_;
  const RedisServer* redis_ = nullptr;
  ScratchDir dir_;
  int serves_ = 0;
  std::vector<std::unique_ptr<ChildProcess>> children_;
};

}  // namespace steadfast::test
