// Hostile names — `*`, `:`, `{x}`, a newline, a NUL, `..`, 10 KB — for every
// kind of name a caller can choose (workflow, step, queue, run id, dead-letter
// id, limiter, worker id, key prefix, idempotency key, query parameters):
// refused with an error that says what is wrong, through the HTTP API (a
// `steadfast serve` process: 4xx problem+json), the CLI (exit 2) and the C++
// API (std::invalid_argument), and never turned into a Redis key (the key
// set and DBSIZE are the same before and after).
#include <cctype>
#include <stdexcept>

#include "security/security_fixture.h"
#include "steadfast/client.h"
#include "steadfast/worker.h"
#include "store/keys.h"

namespace steadfast::test {
namespace {

constexpr const char* kWorkflows = R"(
workflows:
  good:
    steps:
      - {name: only, kind: noop}
)";

// The hostile names, raw.
std::vector<std::string> hostile_names() {
  return {"*", ":", "{x}", "a\nb", std::string("a\0b", 3), "..", std::string(10 * 1024, 'n')};
}

// Percent-encodes every byte that is not unreserved (RFC 3986), so any name can
// be put in a path segment or a query value.
std::string pct(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (std::isalnum(b) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, 40)) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\0') {
      out += "\\0";
    } else {
      out += c;
    }
  }
  return out + (s.size() > 40 ? "..." : "");
}

class HostileNames : public SecurityTest {
 protected:
  // DBSIZE and the key set, to compare before and after — without the
  // per-minute series samples (<prefix>:{P}:series:<minute>), which a running
  // worker or serve writes on its own when a minute begins (CI once saw one
  // land mid-test).
  std::pair<long long, std::set<std::string>> keyspace() const {
    // DBSIZE and the scan are two reads: a worker's metrics series key made
    // between them would be counted once and not subtracted. Read until DBSIZE
    // is the same on both sides of the scan.
    std::set<std::string> keys;
    long long size = 0;
    for (int attempt = 0; attempt < 20; ++attempt) {
      const long long first = redis().call({"DBSIZE"}).as_integer();
      keys = all_keys();
      size = redis().call({"DBSIZE"}).as_integer();
      if (size == first && static_cast<long long>(keys.size()) == size) break;
    }
    for (auto it = keys.begin(); it != keys.end();) {
      if (it->find(":series:") != std::string::npos) {
        it = keys.erase(it);
        --size;
      } else {
        ++it;
      }
    }
    return {size, keys};
  }
};

TEST_F(HostileNames, HttpRefusesThemWithProblemJsonAndWritesNoKey) {
  const std::string workflows = write_file("workflows.yaml", kWorkflows);
  const auto serve = start_serve(workflows);
  const auto before = keyspace();
  ASSERT_GT(before.first, 0);  // serve registered the workflow and made the queue's group

  int answers = 0;
  for (const std::string& raw : hostile_names()) {
    const std::string n = pct(raw);
    SCOPED_TRACE("name " + printable(raw));
    // Path segments: never a workflow, run or dead-letter entry.
    expect_problem(post_json(serve.port, "/v1/workflows/" + n + "/runs", {{"input", 1}}), 404,
                   "no workflow");
    expect_problem(http(serve.port, "GET", "/v1/runs/" + n), 404, "no run");
    expect_problem(http(serve.port, "GET", "/v1/runs/" + n + "?wait=1s"), 404, "no run");
    expect_problem(http(serve.port, "POST", "/v1/runs/" + n + "/cancel"), 404, "no run");
    expect_problem(http(serve.port, "POST", "/v1/dlq/" + n + "/replay"), 404,
                   "no dead-letter entry");
    // Query parameters: refused, naming the parameter.
    expect_problem(http(serve.port, "GET", "/v1/runs?workflow=" + n), 400, "workflow");
    expect_problem(http(serve.port, "GET", "/v1/runs?status=" + n), 400, "status");
    expect_problem(http(serve.port, "GET", "/v1/runs?limit=" + n), 400, "limit");
    expect_problem(http(serve.port, "GET", "/v1/dlq?limit=" + n), 400, "limit");
    expect_problem(http(serve.port, "GET", "/v1/runs/01HZZZZZZZZZZZZZZZZZZZZZZZ?wait=" + n), 400,
                   "wait");
    answers += 10;
  }
  // Idempotency keys are printable ASCII without spaces, 1-256 characters:
  // `*`, `:`, `{x}` and `..` are valid keys (they land after the partition's
  // hash tag, sf:{0}:idem:<key>); a control character, a space or 10 KB is refused.
  for (const std::string& key : {std::string("a b"), std::string(10 * 1024, 'k')}) {
    SCOPED_TRACE("idempotency key " + printable(key));
    expect_problem(post_json(serve.port, "/v1/workflows/good/runs", {{"input", 1}},
                             {{"Idempotency-Key", key}}),
                   400, "Idempotency-Key");
    ++answers;
  }
  // Control characters in a header value: refused by the HTTP parser or the check.
  for (const std::string& key : {std::string("a\x01z"), std::string("a\x7fz")}) {
    expect_problem(post_json(serve.port, "/v1/workflows/good/runs", {{"input", 1}},
                             {{"Idempotency-Key", key}}),
                   400);
    ++answers;
  }
  // Raw bytes the request line may not hold: the HTTP parser refuses them.
  for (const std::string& target : {std::string("/v1/runs/a\nb"), std::string("/v1/runs/a\0b", 11),
                                    std::string("/v1/runs/a b")}) {
    SCOPED_TRACE("raw target " + printable(target));
    HttpConnection c(serve.port);
    ASSERT_TRUE(c.send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto r = c.read_response(5s);
    expect_problem(r, 400, "malformed HTTP request");
    ++answers;
  }
  // Unescaped braces are not valid in a request target.
  expect_problem(http(serve.port, "GET", "/v1/runs/{x}"), 400);
  expect_problem(http(serve.port, "POST", "/v1/workflows/{x}/runs", "{}",
                      {{"Content-Type", "application/json"}}),
                 400);
  std::cout << answers + 2 << " hostile requests answered 4xx problem+json\n";

  const auto after = keyspace();
  EXPECT_EQ(after.first, before.first) << "DBSIZE changed";
  EXPECT_EQ(after.second, before.second) << "the key set changed";
  EXPECT_EQ(http(serve.port, "GET", "/healthz").status, 200);
}

TEST_F(HostileNames, CliRefusesThemWithExitCode2AndWritesNoKey) {
  // A real workflow registered by a worker, so a valid name would be accepted.
  const std::string workflows = write_file("workflows.yaml", kWorkflows);
  start_worker("w1", workflows);
  const auto before = keyspace();
  ASSERT_GT(before.first, 0);

  // A NUL cannot be passed in argv; every other name can.
  const auto check = [&](const std::vector<std::string>& args, std::string_view what) {
    const CommandResult r = cli(args);
    SCOPED_TRACE(printable(args[0] + " " + args[1]) + " ...");
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_TRUE(r.err.starts_with("steadfast: ")) << r.err.substr(0, 300);
    EXPECT_NE(r.err.find(what), std::string::npos)
        << "error does not name '" << what << "': " << r.err.substr(0, 300);
    // One line, however hostile the name: control characters are escaped and
    // long names cut, so an error cannot forge log lines or flood the terminal.
    EXPECT_EQ(count_of(r.err, "\n"), 1) << r.err.substr(0, 300);
    EXPECT_LT(r.err.size(), 600u);
  };
  int refused = 0;
  for (std::string raw : hostile_names()) {
    if (raw.find('\0') != std::string::npos) continue;
    check({"submit", raw, "--input", "{}"}, "invalid workflow name");
    check({"status", raw}, "invalid run id");
    check({"status", raw, "--json"}, "invalid run id");
    check({"cancel", raw}, "invalid run id");
    check({"dlq", "replay", raw}, "invalid dead-letter id");
    check({"runs", "--workflow", raw}, "workflow");
    check({"worker", "--workflows", workflows, "--id", raw}, "invalid worker id");
    check({"worker", "--workflows", workflows, "--queues", raw}, "invalid queue name");
    refused += 8;
    if (raw != "..") {  // a valid key prefix: keys are not paths
      check({"status", "01HZZZZZZZZZZZZZZZZZZZZZZZ", "--key-prefix", raw}, "invalid key prefix");
      ++refused;
    }
    if (raw == "*" || raw == ":" || raw == "{x}" || raw == "..")
      continue;  // valid idempotency keys
    check({"submit", "good", "--input", "{}", "--idempotency-key", raw}, "invalid idempotency key");
    ++refused;
  }
  std::cout << refused << " CLI commands refused with exit code 2\n";
  const auto after = keyspace();
  EXPECT_EQ(after.first, before.first) << "DBSIZE changed";
  EXPECT_EQ(after.second, before.second) << "the key set changed";
}

// `what()` of the std::invalid_argument that f throws, or a failure.
template <typename F>
std::string invalid_argument_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not std::invalid_argument: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return {};
}

TEST_F(HostileNames, CppApiThrowsInvalidArgumentAndWritesNoKey) {
  ClientOptions co;
  co.redis_url = url();
  Client client(co);
  Workflow good("good");
  good.step("only", [](StepContext&) -> StepResult { return Json::object(); });
  client.register_workflow(good);
  const auto before = keyspace();

  const auto expect = [](std::string_view what, const std::string& message) {
    EXPECT_NE(message.find(what), std::string::npos)
        << "'" << what << "' not in: " << message.substr(0, 300);
    EXPECT_EQ(message.find('\n'), std::string::npos)
        << "a raw newline in: " << message.substr(0, 300);
    EXPECT_EQ(message.find('\0'), std::string::npos) << "a raw NUL in: " << message.substr(0, 300);
    EXPECT_LT(message.size(), 400u);
  };
  const auto handler = [](StepContext&) -> StepResult { return Json::object(); };
  for (const std::string& raw : hostile_names()) {
    SCOPED_TRACE("name " + printable(raw));
    // The client: nothing reaches Redis.
    expect("invalid workflow name",
           invalid_argument_of([&] { client.submit(raw, Json::object()); }));
    expect("invalid run id", invalid_argument_of([&] { client.get_run(raw); }));
    expect("invalid run id", invalid_argument_of([&] { client.wait(raw, 10ms); }));
    expect("invalid run id", invalid_argument_of([&] { client.cancel(raw); }));
    expect("invalid dead-letter id", invalid_argument_of([&] { client.replay(raw); }));
    // Workflows, steps, queues.
    expect("workflow name", invalid_argument_of([&] { Workflow w(raw); }));
    expect("step name", invalid_argument_of([&] { Workflow("w").step(raw, handler); }));
    StepOptions queue;
    queue.queue = raw;
    expect("queue name", invalid_argument_of([&] { Workflow("w").step("s", handler, queue); }));
    // Workers: id, queues, limiters (declared and used), key prefix.
    const auto worker_with = [&](const std::function<void(WorkerOptions&, Workflow&)>& change) {
      WorkerOptions o;
      o.redis_url = url();
      o.handle_signals = false;
      Workflow w("w");
      w.step("s", handler);
      change(o, w);
      Worker worker(o, {w});
    };
    expect("invalid worker id", invalid_argument_of([&] {
            worker_with([&](WorkerOptions& o, Workflow&) { o.id = raw; });
          }));
    expect("invalid queue name", invalid_argument_of([&] {
            worker_with([&](WorkerOptions& o, Workflow&) { o.queues = {raw}; });
          }));
    expect("invalid limiter name", invalid_argument_of([&] {
            worker_with([&](WorkerOptions& o, Workflow&) {
              LimitSpec l;
              l.name = raw;
              l.concurrency = 1;
              o.limits = {l};
            });
          }));
    expect("undeclared limiter", invalid_argument_of([&] {
            WorkerOptions o;
            o.redis_url = url();
            o.handle_signals = false;
            Workflow w("w");
            StepOptions so;
            so.limit.name = raw;
            w.step("s", handler, so);
            Worker worker(o, {w});
          }));
    if (raw == "..") continue;  // a valid key prefix: keys are not paths
    expect("invalid key prefix", invalid_argument_of([&] {
             ClientOptions o;
             o.redis_url = url();
             o.key_prefix = raw;
             Client c(o);
           }));
    expect("invalid key prefix", invalid_argument_of([&] {
             worker_with([&](WorkerOptions& o, Workflow&) { o.key_prefix = raw; });
           }));
  }
  // Idempotency keys: printable ASCII without spaces, 1-256 characters.
  for (const std::string& key : {std::string("a\nb"), std::string("a\0b", 3),
                                 std::string(10 * 1024, 'k'), std::string("a b")}) {
    SubmitOptions so;
    so.idempotency_key = key;
    expect("invalid idempotency key",
           invalid_argument_of([&] { client.submit("good", Json::object(), so); }));
  }
  const auto after = keyspace();
  EXPECT_EQ(after.first, before.first) << "DBSIZE changed";
  EXPECT_EQ(after.second, before.second) << "the key set changed";
}

TEST_F(HostileNames, WorkflowsFileWithThemIsRefusedByWorkerAndServe) {
  // YAML double-quoted strings can hold a newline ("\n") and a NUL ("\0").
  const std::vector<std::string> yaml_names = {
      "\"*\"", "\":\"", "\"{x}\"", "\"a\\nb\"", "\"a\\0b\"", "\"..\"", std::string(10 * 1024, 'n')};
  const auto before = keyspace();
  int refused = 0;
  for (const std::string& n : yaml_names) {
    SCOPED_TRACE("name " + n.substr(0, 20));
    const std::vector<std::pair<std::string, std::string>> files = {
        {"workflow name", "workflows:\n  " + n + ":\n    steps:\n      - {name: a, kind: noop}\n"},
        {"step", "workflows:\n  w:\n    steps:\n      - {name: " + n + ", kind: noop}\n"},
        {"queue",
         "workflows:\n  w:\n    steps:\n      - {name: a, kind: noop, queue: " + n + "}\n"},
        {"limiter",
         "limits:\n  " + n +
             ": {concurrency: 1}\nworkflows:\n  w:\n    steps:\n      - {name: a, kind: noop}\n"},
        {"limiter",
         "limits:\n  l: {concurrency: 1}\nworkflows:\n  w:\n    steps:\n      - {name: a, kind: "
         "noop, limit: {name: " +
             n + "}}\n"},
    };
    for (const auto& [what, yaml] : files) {
      const std::string path = write_file("bad.yaml", yaml);
      for (const std::string command : {"worker", "serve"}) {
        std::vector<std::string> args{command, "--workflows", path};
        if (command == std::string("serve")) args.insert(args.end(), {"--listen", "127.0.0.1:0"});
        const CommandResult r = cli(args);
        EXPECT_EQ(r.exit_code, 2) << command << ": " << r.out << r.err.substr(0, 300);
        EXPECT_NE(r.err.find(path + ":"), std::string::npos)
            << command << ": no file:line in " << r.err.substr(0, 300);
        // A map key of 10 KB is not YAML at all (implicit keys stop at 1024
        // characters): the parser refuses it, naming the line.
        const bool long_key = n.size() > 1024 && yaml.find("  " + n + ":") != std::string::npos;
        const std::string expected_what = long_key ? "invalid YAML" : what;
        EXPECT_NE(r.err.find(expected_what), std::string::npos)
            << command << ": '" << expected_what << "' not in " << r.err.substr(0, 300);
        if (!long_key) {
          EXPECT_NE(r.err.find("A-Za-z0-9_-"), std::string::npos)
              << command << ": the rule is not named: " << r.err.substr(0, 300);
        }
        EXPECT_LT(r.err.size(), 1000u);
        ++refused;
      }
    }
  }
  std::cout << refused << " workflows files refused with exit code 2\n";
  const auto after = keyspace();
  EXPECT_EQ(after.first, before.first);
  EXPECT_EQ(after.second, before.second);
}

}  // namespace
}  // namespace steadfast::test
