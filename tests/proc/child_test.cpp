// proc::Child with real programs: exit statuses, signals, the process group,
// the RAII kill, the blocking and the asynchronous (pidfd) waits.
#include "proc/child.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>

#include "proc/async_wait.h"

namespace steadfast::proc {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using How = ExitStatus::How;

Child start(std::vector<std::string> argv, bool own_group = false) {
  SpawnOptions o;
  o.argv = std::move(argv);
  o.own_process_group = own_group;
  return Child(o);
}

// /proc/<pid> is gone, or names a zombie (dead, waiting for init to reap it).
bool dead(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

bool dies_within(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!dead(pid)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ScratchFile {
 public:
  ScratchFile() {
    std::string tmpl = "/tmp/steadfast-proc-test-XXXXXX";
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    ::close(fd);
    path_ = tmpl;
  }
  ~ScratchFile() { std::filesystem::remove(path_); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs the coroutine on a fresh io_context; its result, or rethrows.
ExitStatus run_async_wait(Child& child) {
  asio::io_context io;
  std::optional<ExitStatus> result;
  std::exception_ptr failure;
  asio::co_spawn(io, async_wait(child), [&](std::exception_ptr e, ExitStatus s) {
    failure = e;
    if (!e) result = s;
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return *result;
}

TEST(ChildTest, ReportsTheExitStatus) {
  EXPECT_EQ(start({"true"}).wait(), (ExitStatus{How::exited, 0}));
  EXPECT_EQ(start({"false"}).wait(), (ExitStatus{How::exited, 1}));
  Child three = start({"sh", "-c", "exit 3"});
  const ExitStatus s = three.wait();
  EXPECT_EQ(s, (ExitStatus{How::exited, 3}));
  EXPECT_EQ(s.shell_code(), 3);
  EXPECT_EQ(s.describe(), "exited with status 3");
  EXPECT_TRUE(three.reaped());
  EXPECT_FALSE(three.running());
  EXPECT_EQ(three.wait(), s) << "a second wait answers the same, at once";
}

TEST(ChildTest, ReportsTheSignalThatKilledIt) {
  Child child = start({"sleep", "100"});
  EXPECT_TRUE(child.running());
  ASSERT_TRUE(child.signal(SIGKILL));
  const ExitStatus s = child.wait();
  EXPECT_EQ(s, (ExitStatus{How::signaled, SIGKILL}));
  EXPECT_EQ(s.shell_code(), 128 + SIGKILL);
  EXPECT_EQ(s.describe(), "killed by signal 9 (SIGKILL)");
  EXPECT_FALSE(child.signal(SIGTERM)) << "no signal to a reaped PID";
}

TEST(ChildTest, AsyncWaitOnAnIoContextReturnsTheExitStatus) {
  Child later = start({"sh", "-c", "exit 4"});
  EXPECT_EQ(run_async_wait(later), (ExitStatus{How::exited, 4}));
  EXPECT_TRUE(later.reaped());

  Child done = start({"true"});
  while (done.running()) std::this_thread::sleep_for(1ms);
  EXPECT_FALSE(done.reaped()) << "running() only looks";
  EXPECT_EQ(run_async_wait(done), (ExitStatus{How::exited, 0}))
      << "an exit before the wait is not missed";
  EXPECT_EQ(run_async_wait(done), (ExitStatus{How::exited, 0})) << "a reaped child answers at once";
}

TEST(ChildTest, AsyncWaitSeesAChildKilledWhileItWaits) {
  Child child = start({"sleep", "100"});
  asio::io_context io;
  std::optional<ExitStatus> result;
  asio::co_spawn(io, async_wait(child), [&](std::exception_ptr e, ExitStatus s) {
    if (!e) result = s;
  });
  io.poll();  // the wait is armed, the child still runs
  ASSERT_FALSE(result.has_value());
  child.signal(SIGTERM);
  io.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, (ExitStatus{How::signaled, SIGTERM}));
}

TEST(ChildTest, DestroyingARunningChildKillsAndReapsIt) {
  pid_t pid = -1;
  {
    Child child = start({"sleep", "100"});
    pid = child.pid();
    ASSERT_FALSE(dead(pid));
  }
  EXPECT_FALSE(std::filesystem::exists("/proc/" + std::to_string(pid)))
      << "no process, not even a zombie, is left";
}

// `sh` starts `sleep` in the background and prints its PID: a grandchild.
struct WithGrandchild {
  ScratchFile out;
  Child child;
  pid_t grandchild = -1;

  explicit WithGrandchild(bool own_group) {
    SpawnOptions o;
    o.argv = {"sh", "-c", "sleep 100 & echo $!; wait"};
    o.out = Stdio::truncate(out.path());
    o.own_process_group = own_group;
    child = Child(o);
    const auto deadline = Clock::now() + 10s;
    while (read_file(out.path()).find('\n') == std::string::npos) {
      if (Clock::now() >= deadline)
        throw std::runtime_error("sh did not print the PID of its sleep");
      std::this_thread::sleep_for(2ms);
    }
    grandchild = std::stoi(read_file(out.path()));
  }
};

TEST(ChildTest, KillingTheGroupReachesGrandchildren) {
  WithGrandchild w(/*own_group=*/true);
  EXPECT_EQ(::getpgid(w.grandchild), w.child.pid()) << "the grandchild is in the child's group";
  EXPECT_TRUE(w.child.group_has_live_members());
  EXPECT_EQ(w.child.kill(), (ExitStatus{How::signaled, SIGKILL}));
  EXPECT_TRUE(dies_within(w.grandchild, 10s)) << "the background sleep was killed with its group";
}

TEST(ChildTest, DestroyingAGroupLeaderKillsItsGroup) {
  pid_t grandchild = -1;
  {
    WithGrandchild w(/*own_group=*/true);
    grandchild = w.grandchild;
  }
  EXPECT_TRUE(dies_within(grandchild, 10s));
}

TEST(ChildTest, TerminateEscalatesToSigkillAfterTheGrace) {
  Child polite = start({"sleep", "100"});
  EXPECT_EQ(polite.terminate(10s), (ExitStatus{How::signaled, SIGTERM}));

  // Ignores SIGTERM: SIGKILL after the grace, to the whole group.
  SpawnOptions o;
  o.argv = {"sh", "-c", "trap '' TERM; echo ready; sleep 100 & wait"};
  ScratchFile out;
  o.out = Stdio::truncate(out.path());
  o.own_process_group = true;
  Child stubborn(o);
  const auto ready_by = Clock::now() + 10s;
  while (read_file(out.path()).empty() && Clock::now() < ready_by) std::this_thread::sleep_for(2ms);
  const auto started = Clock::now();
  EXPECT_EQ(stubborn.terminate(200ms), (ExitStatus{How::signaled, SIGKILL}));
  EXPECT_GE(Clock::now() - started, 200ms);
}

TEST(ChildTest, WaitForTimesOutWhileTheChildRuns) {
  Child child = start({"sleep", "100"});
  EXPECT_EQ(child.wait_for(0ms), std::nullopt) << "zero: just look";
  const auto started = Clock::now();
  EXPECT_EQ(child.wait_for(100ms), std::nullopt);
  EXPECT_GE(Clock::now() - started, 100ms);
  EXPECT_TRUE(child.running());
  child.signal(SIGKILL);
  EXPECT_EQ(child.wait_for(10s), (ExitStatus{How::signaled, SIGKILL}));
}

TEST(ChildTest, PidfdTurnsReadableAtExit) {
  Child child = start({"true"});
  ASSERT_GE(child.pidfd(), 0) << "this kernel has pidfd_open (Linux >= 5.3)";
  pollfd p{child.pidfd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10'000), 1);
  EXPECT_FALSE(child.reaped());
  EXPECT_EQ(child.wait(), (ExitStatus{How::exited, 0}));
  EXPECT_EQ(child.pidfd(), -1) << "closed once reaped";
}

TEST(ChildTest, EnvCwdAndOutputRedirection) {
  ScratchFile out;
  SpawnOptions o;
  o.argv = {"sh", "-c", "echo \"$STEADFAST_PROC_TEST $(pwd)\"; echo oops >&2"};
  o.env = {{"STEADFAST_PROC_TEST", "hello"}};
  o.cwd = "/tmp";
  o.out = Stdio::truncate(out.path());
  o.err = Stdio::to_stdout();
  EXPECT_TRUE(Child(o).wait().success());
  EXPECT_EQ(read_file(out.path()), "hello /tmp\noops\n");
}

TEST(ChildTest, ForkedWithAParentDeathSignal) {
  ScratchFile out;
  SpawnOptions o;
  o.argv = {"sh", "-c", "echo \"$STEADFAST_PROC_TEST\"; exit 5"};
  o.env = {{"STEADFAST_PROC_TEST", "forked"}};
  o.out = Stdio::append_to(out.path());
  o.parent_death_signal = SIGTERM;
  o.own_process_group = true;
  Child child(o);
  EXPECT_EQ(child.wait(), (ExitStatus{How::exited, 5}));
  EXPECT_EQ(read_file(out.path()), "forked\n");
}

TEST(ChildTest, AProgramThatCannotStartIsAnErrorNamingIt) {
  for (const int death_signal : {0, SIGTERM}) {  // posix_spawn, then fork + exec
    SpawnOptions o;
    o.argv = {"steadfast-no-such-program"};
    o.parent_death_signal = death_signal;
    try {
      Child child(o);
      ADD_FAILURE() << "started a program that does not exist";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), ENOENT);
      EXPECT_NE(std::string(e.what()).find("'steadfast-no-such-program'"), std::string::npos)
          << e.what();
    }
    o.argv = {"true"};
    o.cwd = "/nonexistent-dir";
    try {
      Child child(o);
      ADD_FAILURE() << "started in a missing folder";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), ENOENT);
      EXPECT_NE(std::string(e.what()).find("in cwd '/nonexistent-dir'"), std::string::npos)
          << e.what();
    }
    o.cwd.clear();
    o.out = Stdio::append_to("/nonexistent-dir/child.log");
    try {
      Child child(o);
      ADD_FAILURE() << "started with a log in a missing folder";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), ENOENT);
      EXPECT_NE(std::string(e.what()).find(
                    "cannot open '/nonexistent-dir/child.log' for a child's stdout"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(ChildTest, AStatusCollectedElsewhereIsUnknown) {
  Child child = start({"true"});
  int status = 0;
  ASSERT_EQ(::waitpid(-1, &status, 0), child.pid());  // someone's waitpid(-1)
  EXPECT_FALSE(child.running());
  const ExitStatus s = child.wait();
  EXPECT_EQ(s.how, How::unknown);
  EXPECT_EQ(s.shell_code(), -1);
}

TEST(ChildTest, MovedChildIsOwnedOnce) {
  Child a = start({"sleep", "100"});
  const pid_t pid = a.pid();
  Child b = std::move(a);
  EXPECT_EQ(a.pid(), -1);  // NOLINT(bugprone-use-after-move): the moved-from state is the contract
  EXPECT_FALSE(a.running());
  EXPECT_EQ(b.pid(), pid);
  EXPECT_TRUE(b.running());
  b = Child();  // the old one is killed and reaped
  EXPECT_FALSE(std::filesystem::exists("/proc/" + std::to_string(pid)));
}

}  // namespace
}  // namespace steadfast::proc
