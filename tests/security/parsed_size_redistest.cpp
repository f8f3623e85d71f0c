// What a run costs parsed is bounded (issue 13 item 5): the security review's
// 1 MiB input of [{},{},…] (349,525 values, about 22 MB once parsed, parsed
// again by every step) is refused by `serve` before it is parsed — its peak
// RSS (VmHWM) does not grow by the parsed size — and a worker fails a step
// whose input and earlier outputs would be too large parsed, naming the
// figures, instead of parsing them.
#include <fstream>

#include "security/security_fixture.h"

namespace steadfast::test {
namespace {

// VmHWM (peak RSS) of a process in KiB (0 if gone).
long peak_rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);) {
    if (line.starts_with("VmHWM:")) return std::stol(line.substr(6));
  }
  return 0;
}

std::string empty_objects(std::size_t bytes) {
  std::string s = "[";
  while (s.size() + 4 < bytes) s += s.size() > 1 ? ",{}" : "{}";
  return s + "]";
}

class ParsedSize : public SecurityTest {};

TEST_F(ParsedSize, HostileInputIsRefusedAtSubmitAndAtTheWorker) {
  // Two steps print about 1 MiB of [{},…] each; the third would be handed both.
  const std::string print = "import sys; sys.stdout.write('[' + ','.join(['{}'] * 340000) + ']')";
  const std::string workflows = write_file(
      "workflows.yaml",
      "workflows:\n  any:\n    steps:\n      - {name: only, kind: noop}\n"
      "  fanout:\n    steps:\n"
      "      - {name: a, kind: exec, with: {command: [python3, -c, \"" + print + "\"], timeout: 20s}}\n"
      "      - {name: b, kind: exec, with: {command: [python3, -c, \"" + print + "\"], timeout: 20s}}\n"
      "      - {name: c, kind: noop}\n");
  const Serve serve = start_serve(workflows);

  // The review's body: 1 MiB less a little, of [{},…] as the input.
  const std::string body = "{\"input\":" + empty_objects((1 << 20) - 100) + "}";
  const long before = peak_rss_kib(serve.process->pid());
  const auto r = http(serve.port, "POST", "/v1/workflows/any/runs", body, {{"Content-Type", "application/json"}});
  const long after = peak_rss_kib(serve.process->pid());
  EXPECT_EQ(r.status, 413) << r.body;
  const std::string detail = r.json().value("detail", "");
  EXPECT_NE(detail.find("MiB once parsed ("), std::string::npos) << detail;
  EXPECT_NE(detail.find("JSON values), over the 16 MiB a run's input may take"), std::string::npos) << detail;
  // Parsing it would have taken about 22 MB; reading the body takes about 1.
  EXPECT_LT(after - before, 8 * 1024) << "peak RSS grew from " << before << " to " << after << " KiB";
  std::cout << "serve: a 1 MiB [{},...] input refused with 413; peak RSS " << before << " -> " << after
            << " KiB\n";

  start_worker("w1", workflows);
  const auto submitted = post_json(serve.port, "/v1/workflows/fanout/runs", {{"input", Json::object()}});
  ASSERT_EQ(submitted.status, 202) << submitted.body;
  const std::string id = submitted.json()["run_id"];
  const Json run = http(serve.port, "GET", "/v1/runs/" + id + "?wait=30s", {}, {}, 35s).json();
  ASSERT_EQ(run["status"], "failed") << run.dump().substr(0, 2000);
  EXPECT_EQ(run["steps"][0]["status"], "completed");
  EXPECT_EQ(run["steps"][1]["status"], "completed");
  const std::string error = run["steps"][2].value("error", "");
  EXPECT_NE(error.find("the run's input and earlier outputs would take about"), std::string::npos) << error;
  EXPECT_NE(error.find("over the 32 MiB a step may be handed"), std::string::npos) << error;
  EXPECT_EQ(run["steps"][2]["attempts"], 1);  // fatal: it would fail the same way again
}

}  // namespace
}  // namespace steadfast::test
