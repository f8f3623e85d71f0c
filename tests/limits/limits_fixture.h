// The fixture of the limiter, alert and load-shedding tests: the fault tests'
// fixture (real `steadfast worker` processes, the test binary's redis-server,
// the real CLI) plus a local fake HTTP server (tests/support/fake_http_server.py)
// whose request log is what the assertions count.
#pragma once

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "fault/fault_fixture.h"
#include "support/fake_http_server.h"

namespace steadfast::test {

// One request as the fake server recorded it (time = when it was answered,
// epoch seconds).
struct Request {
  double time = 0;     // answered
  double arrived = 0;
  std::string method;
  std::string path;
  int status = 0;
  Json headers;
  Json body;

  // A request header, case-insensitively; empty when absent.
  [[nodiscard]] std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers.items()) {
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        return v.get<std::string>();
      }
    }
    return {};
  }
};

class LimitsTest : public FaultTest {
 protected:
  void TearDown() override {
    if (HasFailure()) {
      for (const auto& n : notifiers_) {
        std::cout << "---- " << n->log_path() << " (pid " << n->pid() << ")\n"
                  << tail_of(n->log(), 4000) << "\n";
      }
    }
    notifiers_.clear();
    FaultTest::TearDown();
    http_.reset();
  }

  // Starts the fake HTTP server with `config` (see fake_http_server.py).
  FakeHttpServer& start_http(const Json& config) {
    http_ = std::make_unique<FakeHttpServer>(config);
    return *http_;
  }
  FakeHttpServer& http() { return *http_; }

  // The requests the server recorded for `path` (all but control paths when
  // empty), in the order they were answered.
  std::vector<Request> requests(const std::string& path = "") {
    std::vector<Request> out;
    const Json stats = http_->stats();  // (not a temporary: the loop keeps no reference to it)
    for (const Json& r : stats["requests"]) {
      if (!path.empty() && r["path"] != path) continue;
      out.push_back(Request{r["time"].get<double>(), r.value("arrived", 0.0), r["method"].get<std::string>(),
                            r["path"].get<std::string>(), r["status"].get<int>(), r["headers"],
                            r["body"]});
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const Request& a, const Request& b) { return a.time < b.time; });
    return out;
  }

  // The most requests between their arrival and their answer at one moment,
  // from the request log.
  static int max_overlap(const std::vector<Request>& reqs) {
    std::vector<std::pair<double, int>> events;  // an answer sorts before an arrival at the same time
    for (const Request& r : reqs) {
      events.emplace_back(r.arrived, 1);
      events.emplace_back(r.time, -1);
    }
    std::sort(events.begin(), events.end());
    int now = 0;
    int most = 0;
    for (const auto& e : events) most = std::max(most, now += e.second);
    return most;
  }

  // Starts `steadfast notifier --webhook URL --id ID`; the fixture owns it.
  ChildProcess& start_notifier(const std::string& id, const std::string& webhook) {
    const int n = static_cast<int>(notifiers_.size()) + 1;
    const std::string name = "sf-notifier-" + id + "." + std::to_string(n);
    std::vector<std::string> argv{STEADFAST_BIN, "notifier", "--webhook", webhook, "--redis",
                                  named_url(url(), name), "--key-prefix", prefix(), "--id", id};
    notifiers_.push_back(std::make_unique<ChildProcess>(
        argv, dir(), dir().path() + "/notifier-" + id + "." + std::to_string(n) + ".log"));
    ChildProcess& p = *notifiers_.back();
    name_connections(p, name);
    // Ready once it reads the dead-letter stream (its group exists by then).
    const bool reading = eventually(
        [&] { return last_command_in(p, {"xreadgroup", "xautoclaim", "xack"}) || !p.running(); }, 10s, 5ms);
    if (!reading || !p.running()) {
      throw std::runtime_error("notifier " + id + " did not start reading:\n" + tail_of(p.log()));
    }
    return p;
  }

  // Submits n runs of `workflow` through the C++ client; their ids.
  std::vector<std::string> submit_many(const std::string& workflow, int n,
                                       const std::function<Json(int)>& input = {}) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      ids.push_back(client().submit(workflow, input ? input(i) : Json{{"n", i}}).run_id);
    }
    return ids;
  }

  // True once every run has `status`.
  bool wait_all(const std::vector<std::string>& runs, const std::string& status, milliseconds timeout) {
    return eventually(
        [&] {
          return std::all_of(runs.begin(), runs.end(),
                             [&](const std::string& r) { return hget(r, "status") == status; });
        },
        timeout, 50ms);
  }

  // For failure messages: the runs not in `status`, and the queue's pending entries.
  std::string describe(const std::vector<std::string>& runs, const std::string& status = "completed") {
    std::string out;
    for (const std::string& r : runs) {
      const auto h = run_hash(r);
      auto get = [&](const std::string& f) {
        auto it = h.find(f);
        return it == h.end() ? std::string("-") : it->second;
      };
      if (get("status") == status) continue;
      const std::string step = get("step");
      out += r + " " + get("status") + " step " + step + " " + get("s." + step + ".status") +
             " attempts " + get("s." + step + ".attempts") + " worker " + get("s." + step + ".worker") +
             " entry " + get("entry") + "\n";
    }
    redis::Reply p = server().call({"XPENDING", key("q:default"), "steadfast", "-", "+", "100"});
    for (std::size_t i = 0; i < p.size(); ++i) {
      out += "pending " + std::string(p[i][0].str()) + " " + std::string(p[i][1].str()) + " idle " +
             std::to_string(p[i][2].as_integer()) + " ms, delivered " +
             std::to_string(p[i][3].as_integer()) + "\n";
    }
    out += "stream length " + std::to_string(server().call({"XLEN", key("q:default")}).as_integer());
    return out;
  }

  // A limiter's hash and its holders zset, under the test's prefix
  // (store::KeySpace::limit: every limiter under one tag).
  [[nodiscard]] std::string limit_key(const std::string& name) const {
    return prefix() + ":{" + prefix() + ":limits}:limit:" + name;
  }
  [[nodiscard]] std::string holders_key(const std::string& name) const {
    return limit_key(name) + ":holders";
  }

  // Pending entries of the notifier's group on the dead-letter stream.
  std::int64_t dlq_pending() {
    redis::Reply r = server().call({"XPENDING", key("dlq"), "notifier"});
    return r.is_array() && r.size() > 0 && r[0].is_integer() ? r[0].as_integer() : -1;
  }

  // Stops a worker with SIGTERM and returns its log once it exited.
  static std::string stop_and_log(ChildProcess& w) {
    w.sigterm();
    w.wait(20s);
    return w.log();
  }

  static std::string fixed(double v, int digits = 1) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
  }

 private:
  std::unique_ptr<FakeHttpServer> http_;
  std::vector<std::unique_ptr<ChildProcess>> notifiers_;
};

}  // namespace steadfast::test
