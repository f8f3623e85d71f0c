// The exec step kind with real programs (Python scripts in scripts/): the
// stdin/stdout contract, exit codes, stderr tails, timeouts and cancellation
// that stop the whole process group, and secrets. No Redis.
#include "steps/exec.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "config/workflows_file.h"
#include "steps/kind_registry.h"
#include "support/thread_count.h"

namespace steadfast::steps {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "'" << (haystack) << "' does not contain '" << (needle) << "'"
#define EXPECT_NOT_CONTAINS(haystack, needle)                      \
  EXPECT_EQ(std::string(haystack).find(needle), std::string::npos) \
      << "'" << (haystack) << "' contains '" << (needle) << "'"

constexpr const char* kSecret = "tok-5e2b8d9a41";

std::string script(std::string_view name) { return std::string(STEADFAST_STEP_SCRIPTS) + "/" + std::string(name); }

class ExecKindTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Orphans of the scripts come to this process (not to an init that may
    // reap late), so a test can reap them and see their group empty.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    ::setenv("STEADFAST_EXEC_TEST_SECRET", kSecret, 1);
  }

  void SetUp() override {
    std::string dir = "/tmp/steadfast-exec-test-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static StepHandler make(const Json& with) {
    const KindRegistry registry = builtin_kinds();
    return (*registry.find("exec"))(with);
  }

  static Json input() { return {{"name", "Ada"}, {"n", 3}}; }
  static std::map<std::string, Json> outputs() { return {{"fetch", Json{{"text", "earlier"}}}}; }

  static StepResult run(const Json& with, int attempt = 1) {
    StepContext ctx("run-9", "wf", "store", attempt, input(), outputs());
    return make(with)(ctx);
  }

  static std::string rejection(const Json& with) {
    try {
      (void)make(with);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    ADD_FAILURE() << "accepted " << with.dump();
    return {};
  }

  // "<leader pid> <child pid>" as spawn_and_hang.py wrote them.
  std::pair<pid_t, pid_t> pids() const {
    std::ifstream f(dir_ + "/pids");
    pid_t leader = 0;
    pid_t child = 0;
    f >> leader >> child;
    return {leader, child};
  }

  // True once no process of group `pgid` exists (its zombies, which come to
  // this subreaper, are reaped on the way).
  static bool group_gone_within(pid_t pgid, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    for (;;) {
      while (::waitpid(-pgid, nullptr, WNOHANG) > 0) {
      }
      if (::kill(-pgid, 0) == -1 && errno == ESRCH) return true;
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
  }

  // The leader was reaped by the handler: it is no child of ours any more.
  static bool reaped(pid_t pid) { return ::waitpid(pid, nullptr, WNOHANG) == -1 && errno == ECHILD; }

  std::string dir_;
};

// --- success

TEST_F(ExecKindTest, StdinCarriesTheContextAndStdoutIsTheOutput) {
  const StepResult r = run({{"command", {"python3", script("echo_context.py"), "{{input.name}}", "x y", "{{input.n * 2}}"}},
                            {"env", {{"STEP_TEST_VALUE", "v-{{steps.fetch.output.text}}"}}}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Json& out = r.output();
  EXPECT_EQ(out["context"], Json::parse(R"({"run_id": "run-9", "workflow": "wf", "step": "store",
      "attempt": 1, "idempotency_key": "run-9:store", "input": {"name": "Ada", "n": 3},
      "outputs": {"fetch": {"text": "earlier"}}})"));
  EXPECT_EQ(out["argv"], Json::parse(R"(["Ada", "x y", "6"])"));
  EXPECT_EQ(out["env"], "v-earlier");
  EXPECT_EQ(out["path_set"], true);  // the worker's environment is inherited
}

TEST_F(ExecKindTest, WorkingDirectory) {
  const StepResult r = run({{"command", {"python3", script("echo_context.py")}}, {"cwd", dir_}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output()["cwd"], dir_);
}

TEST_F(ExecKindTest, DescriptorsOfTheWorkerAreNotInherited) {
  const int fd = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
  ASSERT_GE(fd, 0);
  const int high = ::dup2(fd, 77);
  const StepResult r = run({{"command", {"python3", script("echo_context.py")}}});
  ::close(fd);
  ::close(high);
  ASSERT_TRUE(r.ok()) << r.error().message();
  for (const Json& open : r.output()["fds"]) EXPECT_NE(open, 77) << r.output()["fds"].dump();
}

TEST_F(ExecKindTest, AProgramThatIgnoresStdinIsFine) {
  // 4 MiB of input that nobody reads: EPIPE for us, never a SIGPIPE.
  StepContext ctx("run-9", "wf", "store", 1, Json{{"blob", std::string(4 << 20, 'b')}}, {});
  const StepResult r = make({{"command", {"python3", script("no_stdin.py")}}})(ctx);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output(), (Json{{"ignored", true}}));
}

TEST_F(ExecKindTest, TheExampleStoreStep) {
  const Json with = {{"command", {"python3", std::string(STEADFAST_EXAMPLES) + "/store.py", "--dir", dir_, "--from", "fetch"}}};
  const StepResult r = run(with);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const std::string path = dir_ + "/wf/run-9.json";
  EXPECT_EQ(r.output()["stored"], true);
  EXPECT_EQ(r.output()["path"], path);
  std::ifstream file(path);
  const Json stored = Json::parse(file);
  EXPECT_EQ(stored, Json::parse(R"({"run_id": "run-9", "workflow": "wf",
      "input": {"name": "Ada", "n": 3}, "result": {"text": "earlier"}})"));
  // A retry stores the same file again.
  EXPECT_TRUE(run(with, 2).ok());

  const StepResult missing = run({{"command", {"python3", std::string(STEADFAST_EXAMPLES) + "/store.py", "--dir", dir_, "--from", "nope"}}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind(), StepError::Kind::fatal);
  EXPECT_CONTAINS(missing.error().message(), "no output of step 'nope'");
}

// --- exit codes

TEST_F(ExecKindTest, ExitTempfailIsRetryable) {
  const StepResult r = run({{"command", {"python3", script("exit_with.py"), "75", "upstream busy\n"}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::retryable);
  EXPECT_CONTAINS(r.error().message(), "exited with status 75 (EX_TEMPFAIL)");
  EXPECT_CONTAINS(r.error().message(), "upstream busy");
}

TEST_F(ExecKindTest, OtherExitIsFatalWithTheStderrTail) {
  const StepResult r = run({{"command", {"python3", script("exit_with.py"), "3", "Traceback:\n  boom\n"}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
  EXPECT_CONTAINS(r.error().message(), "exec 'python3': exited with status 3; stderr:\nTraceback:\n  boom\n");
}

TEST_F(ExecKindTest, ExitWithoutStderrSaysSo) {
  const StepResult r = run({{"command", {"python3", script("exit_with.py"), "1"}}});
  ASSERT_FALSE(r.ok());
  EXPECT_CONTAINS(r.error().message(), "exited with status 1 (stderr empty)");
}

TEST_F(ExecKindTest, KilledBySignalIsFatal) {
  const StepResult r =
      run({{"command", {"python3", "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
  EXPECT_CONTAINS(r.error().message(), "killed by signal 9 (SIGKILL)");
}

TEST_F(ExecKindTest, InvalidJsonOnStdoutIsFatal) {
  const StepResult r = run({{"command", {"python3", script("exit_with.py"), "0", "", "not json at all"}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
  EXPECT_CONTAINS(r.error().message(), "exited 0 but stdout is not one JSON value (");
  EXPECT_NOT_CONTAINS(r.error().message(), "last read");
}

TEST_F(ExecKindTest, TwoJsonValuesOnStdoutIsFatal) {
  const StepResult r = run({{"command", {"python3", script("exit_with.py"), "0", "", "{\"a\": 1}\n{\"b\": 2}\n"}}});
  ASSERT_FALSE(r.ok());
  EXPECT_CONTAINS(r.error().message(), "stdout is not one JSON value");
}

TEST_F(ExecKindTest, EmptyStdoutIsFatal) {
  const StepResult r = run({{"command", {"python3", script("exit_with.py"), "0", "", "  \n"}}});
  ASSERT_FALSE(r.ok());
  EXPECT_CONTAINS(r.error().message(), "stdout is empty; expected one JSON value");
}

TEST_F(ExecKindTest, ScalarJsonIsAnOutputToo) {
  const StepResult r = run({{"command", {"python3", script("exit_with.py"), "0", "", " 42 \n"}}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output(), Json(42));
}

TEST_F(ExecKindTest, ProgramNotFoundIsFatal) {
  const StepResult r = run({{"command", {"steadfast-no-such-program-anywhere"}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
  EXPECT_CONTAINS(r.error().message(), "exec 'steadfast-no-such-program-anywhere': cannot start it: No such file");
}

TEST_F(ExecKindTest, MissingWorkingDirectoryIsFatal) {
  const StepResult r = run({{"command", {"python3", script("echo_context.py")}}, {"cwd", dir_ + "/nope"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
  EXPECT_CONTAINS(r.error().message(), "cannot start it in cwd '" + dir_ + "/nope'");
}

// --- limits

TEST_F(ExecKindTest, LargeStderrIsCutToItsTail) {
  const StepResult r = run({{"command", {"python3", script("big_output.py"), "stderr", "100000", "END-OF-TRACE"}}});
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message();
  EXPECT_CONTAINS(m, "exited with status 3; stderr:\n...xxx");
  EXPECT_TRUE(m.ends_with("xxxEND-OF-TRACE")) << m.substr(m.size() - 40);
  EXPECT_LE(m.size(), 2048u + 100u);
  EXPECT_GE(m.size(), 2048u);
}

TEST_F(ExecKindTest, StdoutOverOneMebibyteIsFatal) {
  const StepResult r = run({{"command", {"python3", script("big_output.py"), "stdout", "2000000"}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
  EXPECT_CONTAINS(r.error().message(), "stdout is larger than 1048576 bytes");
}

// --- stopping the process group

TEST_F(ExecKindTest, TimeoutStopsTheWholeProcessGroup) {
  const auto start = Clock::now();
  const StepResult r = run({{"command", {"sh", script("spawn_and_hang.sh"), dir_ + "/pids"}},
                            {"timeout", "700ms"}});
  const auto took = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::retryable);
  EXPECT_CONTAINS(r.error().message(), "timed out after 700 ms; its process group was stopped");
  EXPECT_LT(took, 700ms + 1500ms);
  const auto [leader, child] = pids();
  ASSERT_GT(leader, 0);
  ASSERT_GT(child, 0);
  EXPECT_TRUE(reaped(leader));
  EXPECT_TRUE(group_gone_within(leader, 1s)) << "a process of group " << leader << " survived";
  EXPECT_TRUE(::kill(child, 0) == -1 && errno == ESRCH);
}

TEST_F(ExecKindTest, TimeoutEscalatesToSigkillWhenSigtermIsIgnored) {
  const auto start = Clock::now();
  const StepResult r = run({{"command", {"sh", script("spawn_and_hang.sh"), dir_ + "/pids", "--ignore-term"}},
                            {"timeout", "700ms"}});
  const auto took = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::retryable);
  EXPECT_GE(took, 700ms + 2s);  // the grace between SIGTERM and SIGKILL
  EXPECT_LT(took, 700ms + 2s + 1500ms);
  const auto [leader, child] = pids();
  ASSERT_GT(leader, 0);
  EXPECT_TRUE(reaped(leader));
  EXPECT_TRUE(group_gone_within(leader, 1s)) << "a process of group " << leader << " survived";
}

TEST_F(ExecKindTest, CancellationStopsTheWholeProcessGroup) {
  StepContext ctx("run-9", "wf", "store", 1, input(), outputs());
  const StepHandler handler = make({{"command", {"python3", script("spawn_and_hang.py"), dir_ + "/pids"}}});
  std::thread canceller([&] {
    // Cancel once the script has started its child.
    const auto until = Clock::now() + 10s;
    while (!std::ifstream(dir_ + "/pids").good() && Clock::now() < until) std::this_thread::sleep_for(10ms);
    ctx.request_cancel();
  });
  const StepResult r = handler(ctx);
  const auto cancelled_at = Clock::now();
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::retryable);
  EXPECT_CONTAINS(r.error().message(), "cancelled");
  const auto [leader, child] = pids();
  ASSERT_GT(leader, 0);
  EXPECT_TRUE(reaped(leader));
  EXPECT_TRUE(group_gone_within(leader, 1s));
  (void)cancelled_at;
}

TEST_F(ExecKindTest, CancellationIsQuick) {
  StepContext ctx("run-9", "wf", "store", 1, input(), outputs());
  const StepHandler handler = make({{"command", {"sleep", "30"}}});
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    ctx.request_cancel();
  });
  const auto start = Clock::now();
  const StepResult r = handler(ctx);
  const auto took = Clock::now() - start;
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_CONTAINS(r.error().message(), "exec 'sleep': cancelled");
  EXPECT_LT(took, 200ms + 500ms);
}

TEST_F(ExecKindTest, WhatTheProgramLeavesRunningIsStopped) {
  const StepResult r = run({{"command", {"python3", script("spawn_and_hang.py"), dir_ + "/pids", "--exit"}}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r.output(), (Json{{"left", true}}));
  const auto [leader, child] = pids();
  ASSERT_GT(child, 0);
  EXPECT_TRUE(reaped(leader));
  EXPECT_TRUE(group_gone_within(leader, 1s)) << "the left-behind child " << child << " survived";
}

// --- secrets

TEST_F(ExecKindTest, SecretsAreRedactedFromStderrAndOutput) {
  const Json failing = {
      {"command",
       {"python3", "-c", "import os, sys; sys.stderr.write('token=' + os.environ['TOKEN'] + ' arg=' + sys.argv[1]); sys.exit(3)",
        "${STEADFAST_EXEC_TEST_SECRET}"}},
      {"env", {{"TOKEN", "${STEADFAST_EXEC_TEST_SECRET}"}}}};
  const StepResult r = run(failing);
  ASSERT_FALSE(r.ok());
  EXPECT_CONTAINS(r.error().message(), "token=*** arg=***");
  EXPECT_NOT_CONTAINS(r.error().message(), kSecret);

  const Json printing = {
      {"command", {"python3", "-c", "import json, os; print(json.dumps({'t': os.environ['TOKEN']}))"}},
      {"env", {{"TOKEN", "${STEADFAST_EXEC_TEST_SECRET}"}}}};
  const StepResult ok = run(printing);
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(ok.output(), (Json{{"t", "***"}}));
}

TEST_F(ExecKindTest, SecretCutByTheTailIsStillHidden) {
  // The secret straddles the 2 KiB boundary of the tail.
  const std::string code = "import os, sys; sys.stderr.write('y' * 5000 + os.environ['TOKEN'] + 'z' * 2040); sys.exit(3)";
  const StepResult r = run({{"command", {"python3", "-c", code}}, {"env", {{"TOKEN", "${STEADFAST_EXEC_TEST_SECRET}"}}}});
  ASSERT_FALSE(r.ok());
  EXPECT_NOT_CONTAINS(r.error().message(), "41zz");  // the secret's last characters
  EXPECT_NOT_CONTAINS(r.error().message(), kSecret);
}

// --- render errors and parameters

TEST_F(ExecKindTest, UnknownPathAtRenderTimeIsFatal) {
  const StepResult r = run({{"command", {"python3", "{{input.nope}}"}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
  EXPECT_CONTAINS(r.error().message(), "exec: command.1: no value at 'input.nope'");
}

// --- run input is untrusted (docs/security.md)

StepResult run_with_input(const Json& with, const Json& input) {
  StepContext ctx("run-9", "wf", "store", 1, input, {});
  const KindRegistry registry = builtin_kinds();
  return (*registry.find("exec"))(with)(ctx);
}

TEST_F(ExecKindTest, ReportOptionInjectionIntoGitIsRefused) {
  // security-2026-12 #2: [git, ls-remote, "{{input.repo}}", main] ran --upload-pack.
  const std::string pwned = dir_ + "/pwned";
  const StepResult r = run_with_input({{"command", {"git", "ls-remote", "{{input.repo}}", "main"}}},
                                      {{"repo", "--upload-pack=touch " + pwned + ";"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
  EXPECT_CONTAINS(r.error().message(), "command.2: the value from the run starts with '-'");
  EXPECT_CONTAINS(r.error().message(), "allow_option_args");
  EXPECT_FALSE(std::filesystem::exists(pwned));
}

TEST_F(ExecKindTest, OptionLikeValuesNeedAllowOptionArgs) {
  const Json command = {"python3", script("echo_context.py"), "--", "{{input.arg}}", "x{{input.arg}}"};
  const StepResult refused = run_with_input({{"command", command}}, {{"arg", "--help"}});
  ASSERT_FALSE(refused.ok());
  EXPECT_CONTAINS(refused.error().message(), "command.3: the value from the run starts with '-' ('--help')");
  // A value after fixed text, or a fixed option, is not an option from the run.
  const StepResult fixed = run_with_input({{"command", {"python3", script("echo_context.py"), "-v", "x{{input.arg}}"}}},
                                          {{"arg", "-y"}});
  ASSERT_TRUE(fixed.ok()) << fixed.error().message();
  EXPECT_EQ(fixed.output()["argv"], Json::parse(R"(["-v", "x-y"])"));
  const StepResult allowed = run_with_input({{"command", command}, {"allow_option_args", true}}, {{"arg", "--help"}});
  ASSERT_TRUE(allowed.ok()) << allowed.error().message();
  EXPECT_EQ(allowed.output()["argv"], Json::parse(R"(["--", "--help", "x--help"])"));
}

TEST_F(ExecKindTest, TheProgramCannotComeFromTheRun) {
  EXPECT_CONTAINS(rejection({{"command", {"{{input.program}}"}}}),
                  "exec: key 'command.0': the program cannot come from a {{...}} value");
  EXPECT_CONTAINS(rejection({{"command", {"/usr/bin/{{steps.a.output.tool}}", "x"}}}), "key 'command.0'");
  ::setenv("STEADFAST_EXEC_TEST_PYTHON", "python3", 1);
  const StepResult r = run({{"command", {"${STEADFAST_EXEC_TEST_PYTHON}", script("echo_context.py")}}});
  EXPECT_TRUE(r.ok()) << r.error().message();
}

TEST_F(ExecKindTest, TheWorkingDirectoryStaysUnderItsRoot) {
  std::filesystem::create_directories(dir_ + "/work/sub");
  const Json with = {{"command", {"python3", script("echo_context.py")}}, {"cwd", dir_ + "/work/{{input.dir}}"}};
  // security-2026-12 #2: "$TMP/{{input.dir}}" with "../../etc" ran in /etc.
  for (const std::string dir : {"../../etc", "sub/../..", ".."}) {
    SCOPED_TRACE(dir);
    const StepResult r = run_with_input(with, {{"dir", dir}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind(), StepError::Kind::fatal);
    EXPECT_CONTAINS(r.error().message(), "holds a '..' segment: a value from the run cannot leave '" + dir_ + "/work/'");
  }
  const StepResult ok = run_with_input(with, {{"dir", "sub"}});
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(ok.output()["cwd"], dir_ + "/work/sub");
  EXPECT_CONTAINS(rejection({{"command", {"x"}}, {"cwd", "{{input.dir}}"}}), "key 'cwd': must begin with a fixed directory");
}

TEST_F(ExecKindTest, TheWorkersOwnSettingsAreNotInherited) {
  // security-2026-12 #8: a step printed STEADFAST_REDIS with its password.
  ::setenv("STEADFAST_REDIS", "redis://default:FAKE-REDIS-PASSWORD@127.0.0.1:1", 1);
  ::setenv("REDIS_PASSWORD", "FAKE-REDIS-PASSWORD", 1);
  ::setenv("CACHE_URL", "rediss://u:FAKE-REDIS-PASSWORD@cache:6380", 1);
  ::setenv("HA_URL", "Redis+Sentinel://u:FAKE-REDIS-PASSWORD@s1,s2/mymaster", 1);
  ::setenv("STEADFAST_EXEC_TEST_PLAIN", "kept", 1);
  ::setenv("APP_SETTING", "kept", 1);
  const std::string code = "import json, os; print(json.dumps(dict(os.environ)))";
  const StepResult r = run({{"command", {"python3", "-c", code}}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Json& env = r.output();
  EXPECT_NOT_CONTAINS(env.dump(), "FAKE-REDIS-PASSWORD");
  EXPECT_FALSE(env.contains("STEADFAST_REDIS"));
  EXPECT_FALSE(env.contains("STEADFAST_EXEC_TEST_PLAIN"));
  EXPECT_FALSE(env.contains("STEADFAST_EXEC_TEST_SECRET"));
  EXPECT_EQ(env.value("APP_SETTING", ""), "kept");
  EXPECT_TRUE(env.contains("PATH"));

  // inherit_env passes a named one on; env sets one explicitly.
  const StepResult with_inherit = run({{"command", {"python3", "-c", code}},
                                       {"inherit_env", {"REDIS_PASSWORD"}},
                                       {"env", {{"STEADFAST_EXEC_TEST_PLAIN", "set-by-step"}}}});
  ASSERT_TRUE(with_inherit.ok()) << with_inherit.error().message();
  EXPECT_EQ(with_inherit.output().value("REDIS_PASSWORD", ""), "FAKE-REDIS-PASSWORD");
  EXPECT_EQ(with_inherit.output().value("STEADFAST_EXEC_TEST_PLAIN", ""), "set-by-step");
  EXPECT_FALSE(with_inherit.output().contains("STEADFAST_REDIS"));
  EXPECT_FALSE(with_inherit.output().contains("HA_URL"));
  for (const char* name : {"STEADFAST_REDIS", "REDIS_PASSWORD", "CACHE_URL", "HA_URL", "STEADFAST_EXEC_TEST_PLAIN",
                           "APP_SETTING"}) {
    ::unsetenv(name);
  }
  EXPECT_CONTAINS(rejection({{"command", {"x"}}, {"inherit_env", {"A B"}}}), "key 'inherit_env.0': not a variable name");
  EXPECT_CONTAINS(rejection({{"command", {"x"}}, {"inherit_env", "PATH"}}), "key 'inherit_env': expected a list");
  EXPECT_CONTAINS(rejection({{"command", {"x"}}, {"allow_option_args", "yes"}}), "key 'allow_option_args': expected true or false");
}

TEST(ExecLoadTime, UntrustedProgramIsRefusedWithFileAndLine) {
  const std::string yaml =
      "workflows:\n"
      "  w:\n"
      "    steps:\n"
      "      - name: s\n"
      "        kind: exec\n"
      "        with: {command: [\"{{input.program}}\", x]}\n";
  const config::WorkflowsFile file = config::parse_workflows(yaml, "wf.yaml");
  try {
    (void)config::build_workflows(file, builtin_kinds());
    ADD_FAILURE() << "accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_CONTAINS(e.what(), "wf.yaml:6: key 'with': exec: key 'command.0': the program cannot come from");
  }
}

// --- many programs, one thread

using test::thread_count;

// 64 programs that end only when all 64 run at the same time: each opens a
// FIFO (the test holds its writing end), then says so in a file, then reads
// the FIFO until the test closes it. While all 64 wait, the process has no
// more threads than before: the process loop supervises them all.
TEST_F(ExecKindTest, ManyProgramsRunTogetherWithoutAThreadEach) {
  constexpr int kPrograms = 64;
  const std::string fifo = dir_ + "/gate";
  const std::string arrived = dir_ + "/arrived";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int gate = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);  // never blocks on Linux
  ASSERT_GE(gate, 0);
  const KindRegistry registry = builtin_kinds();
  const AsyncStepHandler handler = (*registry.find_async("exec"))(
      {{"command", {"sh", "-c", R"(exec 3<"$GATE"; echo x >> "$ARRIVED"; cat <&3 >/dev/null; echo '{"ok": true}')"}},
       {"env", {{"GATE", fifo}, {"ARRIVED", arrived}}},
       {"timeout", "60s"}});
  // The loop's thread exists from the first exec on.
  EXPECT_FALSE(run({{"command", {"true"}}}).ok());  // stdout empty: fatal, but it ran
  const int threads_before = thread_count();

  std::mutex mu;
  std::condition_variable changed;
  std::vector<StepResult> results;
  for (int i = 0; i < kPrograms; ++i) {
    auto ctx = std::make_shared<StepContext>("run-" + std::to_string(i), "wf", "s", 1, input(), outputs());
    handler(ctx, [&](StepResult r) {
      const std::lock_guard lock(mu);
      results.push_back(std::move(r));
      changed.notify_all();
    });
  }
  const auto lines = [&] {
    std::ifstream f(arrived);
    int n = 0;
    for (std::string line; std::getline(f, line);) ++n;
    return n;
  };
  const auto deadline = Clock::now() + 30s;
  while (lines() < kPrograms && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
  ASSERT_EQ(lines(), kPrograms) << "not every program ran at once";
  EXPECT_EQ(thread_count(), threads_before);
  {
    const std::lock_guard lock(mu);
    EXPECT_TRUE(results.empty()) << "a program ended before the gate opened";
  }
  ::close(gate);  // EOF for every program
  std::unique_lock lock(mu);
  ASSERT_TRUE(changed.wait_for(lock, 30s, [&] { return results.size() == kPrograms; })) << results.size();
  for (const StepResult& r : results) {
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r.output(), (Json{{"ok", true}}));
  }
}

TEST_F(ExecKindTest, RefusesBadParametersNamingTheKey) {
  EXPECT_CONTAINS(rejection(Json::object()), "exec: key 'command': is required");
  EXPECT_CONTAINS(rejection({{"command", Json::array()}}), "key 'command': expected a list");
  EXPECT_CONTAINS(rejection({{"command", "python3 x.py"}}), "key 'command': expected a list");
  EXPECT_CONTAINS(rejection({{"command", {"python3", 5}}}), "key 'command.1': expected a string");
  EXPECT_CONTAINS(rejection({{"command", {""}}}), "key 'command.0': the program must not be empty");
  EXPECT_CONTAINS(rejection({{"command", {"x", "{{input.a"}}}), "key 'command.1': template '{{input.a': unclosed");
  EXPECT_CONTAINS(rejection({{"command", {"x"}}, {"env", {{"1BAD", "v"}}}}), "key 'env.1BAD': not a variable name");
  EXPECT_CONTAINS(rejection({{"command", {"x"}}, {"env", {{"A", 1}}}}), "key 'env.A': expected a string");
  EXPECT_CONTAINS(rejection({{"command", {"x"}}, {"env", "A=1"}}), "key 'env': expected a map");
  EXPECT_CONTAINS(rejection({{"command", {"x"}}, {"timeout", "1 minute"}}), "key 'timeout'");
  EXPECT_CONTAINS(rejection({{"command", {"x"}}, {"cwd", 5}}), "key 'cwd': expected a string");
  EXPECT_CONTAINS(rejection({{"command", {"x"}}, {"shell", true}}), "key 'shell': unknown parameter");
}

}  // namespace
}  // namespace steadfast::steps
