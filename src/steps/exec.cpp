#include "steps/exec.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "engine/json_depth.h"
#include "engine/quote.h"
#include "engine/template.h"
#include "proc/child.h"
#include "steps/blocking.h"
#include "steps/group_census.h"
#include "steps/params.h"
#include "steps/process_loop.h"
#include "steps/text.h"

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace steadfast::steps {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kDefaultTimeout = 60s;
constexpr milliseconds kMaxTimeout = 24h;
constexpr std::size_t kMaxStdoutBytes = std::size_t{1} << 20;
constexpr std::size_t kStderrTailBytes = 2048;
// Between SIGTERM and SIGKILL to the process group.
constexpr milliseconds kKillGrace = 2s;
// How late a cancellation or an exit is noticed, at most.
constexpr milliseconds kPollSlice = 50ms;
constexpr int kExitTempFail = 75;  // EX_TEMPFAIL

struct EnvVar {
  std::string name;
  engine::Template value;
};

struct ExecSpec {
  std::vector<engine::Template> command;
  milliseconds timeout{kDefaultTimeout};
  std::vector<EnvVar> env;
  std::optional<engine::Template> cwd;
  // A value from the run may start an argument with '-' (allow_option_args).
  bool allow_option_args = false;
  // Names of the worker's variables passed on although they are its own
  // settings or secrets (inherit_env).
  std::vector<std::string> inherit_env;
};

bool starts_with_ignoring_case(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), s.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

// The worker's own settings and secrets: the Redis URL and its password, the
// API tokens, ... A program gets them only through inherit_env or env.
bool is_worker_setting(std::string_view name, std::string_view value) {
  if (name.starts_with("STEADFAST_") || name.starts_with("REDIS_")) return true;
  for (const std::string_view scheme : {"redis://", "rediss://", "redis+sentinel://", "rediss+sentinel://"}) {
    if (starts_with_ignoring_case(value, scheme)) return true;
  }
  return false;
}

// The number of ".." segments of a path.
std::size_t parent_segments(std::string_view path) {
  std::size_t n = 0;
  for (;;) {
    const std::size_t slash = path.find('/');
    if (path.substr(0, slash) == "..") ++n;
    if (slash == std::string_view::npos) return n;
    path.remove_prefix(slash + 1);
  }
}

bool is_env_name(std::string_view name) {
  if (name.empty() || (std::isalpha(static_cast<unsigned char>(name[0])) == 0 && name[0] != '_')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
}

engine::Template parse_template(Params& params, const std::string& key, const Json& value) {
  if (!value.is_string()) params.fail(key, std::string("expected a string, got ") + value.type_name());
  try {
    return engine::Template::parse(value.get_ref<const std::string&>());
  } catch (const engine::TemplateSyntaxError& e) {
    params.fail(key, e.what());
  }
}

ExecSpec parse_spec(const Json& with) {
  Params params("exec", with);
  ExecSpec spec;
  const Json* command = params.raw("command");
  if (command == nullptr) params.fail("command", "is required");
  if (!command->is_array() || command->empty()) {
    params.fail("command", "expected a list [program, args...] with at least the program");
  }
  for (std::size_t i = 0; i < command->size(); ++i) {
    spec.command.push_back(parse_template(params, "command." + std::to_string(i), (*command)[i]));
  }
  if (spec.command[0].is_literal() && spec.command[0].source().empty()) {
    params.fail("command.0", "the program must not be empty");
  }
  // Run input and step outputs are untrusted: they never choose the program.
  if (spec.command[0].has_expressions()) {
    params.fail("command.0", "the program cannot come from a {{...}} value (run input and step outputs "
                             "are untrusted); name it here or through ${...}");
  }
  spec.allow_option_args = params.boolean("allow_option_args", false);
  if (const Json* inherit = params.raw("inherit_env"); inherit != nullptr && !inherit->is_null()) {
    if (!inherit->is_array()) {
      params.fail("inherit_env", std::string("expected a list of variable names, got ") + inherit->type_name());
    }
    for (std::size_t i = 0; i < inherit->size(); ++i) {
      const Json& name = (*inherit)[i];
      const std::string where = "inherit_env." + std::to_string(i);
      if (!name.is_string()) params.fail(where, std::string("expected a variable name, got ") + name.type_name());
      if (!is_env_name(name.get_ref<const std::string&>())) {
        params.fail(where, "not a variable name ([A-Za-z_][A-Za-z0-9_]*): " +
                               engine::quote(name.get_ref<const std::string&>(), 100));
      }
      spec.inherit_env.push_back(name.get<std::string>());
    }
  }
  spec.timeout = params.duration("timeout", kDefaultTimeout, 1ms, kMaxTimeout);
  if (const Json* env = params.raw("env"); env != nullptr && !env->is_null()) {
    if (!env->is_object()) {
      params.fail("env", std::string("expected a map of variable names to values, got ") +
                             env->type_name());
    }
    for (const auto& [name, value] : env->items()) {
      if (!is_env_name(name)) params.fail("env." + name, "not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
      spec.env.push_back({name, parse_template(params, "env." + name, value)});
    }
  }
  if (const Json* cwd = params.raw("cwd"); cwd != nullptr) {
    spec.cwd = parse_template(params, "cwd", *cwd);
    if (spec.cwd->source().starts_with("{{")) {
      params.fail("cwd", "must begin with a fixed directory (text or ${...}) that values from the run "
                         "stay under, e.g. \"/srv/work/{{input.dir}}\"");
    }
  }
  params.finish();
  return spec;
}

// ---------------------------------------------------------------- process plumbing

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    reset();
    fd_ = std::exchange(other.fd_, -1);
    return *this;
  }
  ~Fd() { reset(); }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool open() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

std::optional<Pipe> make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) return std::nullopt;
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

enum class Stop { none, timeout, cancelled, stdout_too_large };

using Interest = ProcessLoop::Interest;

// The census of the process loop's thread, the only thread that runs attempts.
GroupCensus& census() {
  thread_local GroupCensus instance;
  return instance;
}

// One run of the program as a task of the process loop: render and check
// the command, spawn, feed stdin, collect stdout and the stderr tail, stop
// the group, reap, and call `done` once with the result. Every call runs on
// the loop's thread.
class Attempt final : public ProcessLoop::Task {
 public:
  Attempt(std::shared_ptr<const ExecSpec> spec, std::shared_ptr<StepContext> ctx, StepDone done)
      : spec_(std::move(spec)), ctx_(std::move(ctx)), tctx_(*ctx_), done_(std::move(done)) {}

  ~Attempt() override {
    // Its leader is reaped (or about to be, by ~Child): the id may be reused.
    if (child_) census().forget(child_->pid());
  }

  Interest advance(bool ready) override {
    try {
      if (!child_) {
        if (auto early = launch()) return finish(std::move(*early));
        return supervise(false);
      }
      return supervise(ready);
    } catch (const std::exception& e) {
      // The Child's destructor kills and reaps what is still running.
      return finish(retryable(where_ + ": " + e.what()));
    }
  }

 private:
  Interest finish(StepResult result) {
    done_(std::move(result));
    Interest ended;
    ended.done = true;
    return ended;
  }

  // Renders and checks the command and spawns it: a result when the attempt
  // ends before the program runs, nullopt once it runs.
  std::optional<StepResult> launch() {
    std::vector<std::string> argv;
    std::vector<std::pair<std::string, std::string>> env;
    std::optional<std::string> cwd;
    std::optional<std::size_t> option_arg;  // the first argument a value turned into an option
    std::string cwd_root;                   // the directory the cwd template fixes
    try {
      for (std::size_t i = 0; i < spec_->command.size(); ++i) {
        bool option = false;
        argv.push_back(render("command." + std::to_string(i), spec_->command[i],
                              [&](std::string_view so_far, const std::string& value) {
                                if (so_far.empty() && value.starts_with('-')) option = true;
                              }));
        if (option && !option_arg) option_arg = i;
      }
      for (const EnvVar& v : spec_->env) env.emplace_back(v.name, render("env." + v.name, v.value));
      if (spec_->cwd) {
        bool first = true;
        cwd = render("cwd", *spec_->cwd, [&](std::string_view so_far, const std::string&) {
          if (!first) return;
          first = false;
          cwd_root = std::string(so_far.substr(0, so_far.rfind('/') + 1));
        });
        if (first) cwd_root = *cwd;  // nothing from the run
      }
    } catch (const engine::TemplateRenderError& e) {
      return fatal("exec: " + std::string(e.what()));
    }
    if (argv[0].empty()) return fatal("exec: command.0: the program is empty");
    where_ = "exec " + engine::quote(argv[0], 100);
    if (option_arg && !spec_->allow_option_args) {
      return fatal(where_ + ": command." + std::to_string(*option_arg) + ": the value from the run starts with '-' (" +
                   engine::quote(argv[*option_arg], 40) +
                   ") and the program would read it as an option; set allow_option_args: true if the step "
                   "means it (and put \"--\" before templated arguments)");
    }
    if (cwd && parent_segments(*cwd) > parent_segments(cwd_root)) {
      return fatal(where_ + ": cwd " + engine::quote(*cwd, 200) + " holds a '..' segment: a value from the run "
                   "cannot leave " + engine::quote(cwd_root, 200));
    }
    for (const auto& arg : argv) {
      if (arg.find('\0') != std::string::npos) return fatal(where_ + ": an argument holds a NUL byte");
    }
    for (const auto& [name, value] : env) {
      if (value.find('\0') != std::string::npos) return fatal(where_ + ": env." + name + " holds a NUL byte");
    }
    if (cwd && cwd->find('\0') != std::string::npos) return fatal(where_ + ": cwd holds a NUL byte");
    return spawn(argv, env, cwd);
  }

  // `seen` is told of each {{...}} value with what was rendered before it.
  using Seen = std::function<void(std::string_view so_far, const std::string& value)>;
  std::string render(const std::string& what, const engine::Template& t, const Seen& seen = {}) {
    try {
      return t.render_with(tctx_, secrets_, [&](std::string_view so_far, const engine::Template::Insertion& v) {
        std::string text = v.value.is_string() ? v.value.get<std::string>()
                                               : v.value.dump(-1, ' ', false, Json::error_handler_t::replace);
        if (seen) seen(so_far, text);
        return text;
      });
    } catch (const engine::TemplateRenderError& e) {
      throw engine::TemplateRenderError(what + ": " + e.what());
    }
  }

  // The worker's environment without its own settings and secrets (but with
  // inherit_env), then the step's env.
  std::vector<std::pair<std::string, std::string>> child_environment(
      const std::vector<std::pair<std::string, std::string>>& step_env) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      const std::string_view entry(*e);
      const std::size_t eq = entry.find('=');
      if (eq == std::string_view::npos) continue;
      const std::string name(entry.substr(0, eq));
      const std::string_view value = entry.substr(eq + 1);
      const bool inherited = std::find(spec_->inherit_env.begin(), spec_->inherit_env.end(), name) != spec_->inherit_env.end();
      if (!inherited && is_worker_setting(name, value)) continue;
      if (std::any_of(step_env.begin(), step_env.end(), [&](const auto& v) { return v.first == name; })) continue;
      out.emplace_back(name, std::string(value));
    }
    out.insert(out.end(), step_env.begin(), step_env.end());
    return out;
  }

  // Every message goes out through these: secrets never leave.
  StepError fatal(const std::string& message) const { return StepError::fatal(secrets_.redact(message)); }
  StepError retryable(const std::string& message) const {
    return StepError::retryable(secrets_.redact(message));
  }

  std::string stdin_payload() const {
    Json outputs = Json::object();
    for (const auto& [name, output] : ctx_->outputs()) outputs[name] = output;
    const Json payload{{"run_id", ctx_->run_id()},
                       {"workflow", ctx_->workflow()},
                       {"step", ctx_->step()},
                       {"attempt", ctx_->attempt()},
                       {"idempotency_key", ctx_->idempotency_key()},
                       {"input", ctx_->input()},
                       {"outputs", std::move(outputs)}};
    return payload.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  }

  std::optional<StepResult> spawn(const std::vector<std::string>& argv,
                                  const std::vector<std::pair<std::string, std::string>>& env,
                                  const std::optional<std::string>& cwd) {
    auto in = make_pipe();
    auto out = make_pipe();
    auto err = make_pipe();
    if (!in || !out || !err) return retryable(where_ + ": pipe: " + std::strerror(errno));

    proc::SpawnOptions options;
    options.argv = argv;
    options.env = child_environment(env);
    options.replace_env = true;
    if (cwd) options.cwd = *cwd;
    options.in = proc::Stdio::from_fd(in->read.get());
    options.out = proc::Stdio::from_fd(out->write.get());
    options.err = proc::Stdio::from_fd(err->write.get());
    // Its own process group: a timeout or a cancellation stops all it started.
    options.own_process_group = true;
    try {
      child_.emplace(options);
    } catch (const std::system_error& e) {
      const int rc = e.code().value();
      std::string message = where_ + ": cannot start it";
      if (cwd) message += " in cwd " + engine::quote(*cwd);
      message += ": " + std::string(std::strerror(rc));
      if (rc == EAGAIN || rc == ENOMEM || rc == EMFILE || rc == ENFILE) return retryable(message);
      return fatal(message);
    }
    stdin_fd_ = std::move(in->write);
    stdout_fd_ = std::move(out->read);
    stderr_fd_ = std::move(err->read);
    set_nonblocking(stdin_fd_.get());
    set_nonblocking(stdout_fd_.get());
    set_nonblocking(stderr_fd_.get());
    payload_ = stdin_payload();
    keep_ = kStderrTailBytes + 2 * secrets_.longest() + 16;
    deadline_ = Clock::now() + spec_->timeout;
    return std::nullopt;
  }

  // Writes stdin and reads stdout and stderr as far as they go without
  // blocking (the descriptors are non-blocking).
  void transfer() {
    if (stdin_fd_.open() && written_ < payload_.size()) {
      const ssize_t w = ::write(stdin_fd_.get(), payload_.data() + written_, payload_.size() - written_);
      if (w > 0) written_ += static_cast<std::size_t>(w);
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written_ == payload_.size()) {
        stdin_fd_.reset();  // EOF for the program; EPIPE: it did not want it
      }
    }
    if (stdout_fd_.open() && !drain(stdout_fd_, [&](std::string_view chunk) {
          if (stdout_text_.size() <= kMaxStdoutBytes) stdout_text_.append(chunk);
        })) {
      stdout_fd_.reset();
    }
    if (stderr_fd_.open() && !drain(stderr_fd_, [&](std::string_view chunk) {
          stderr_tail_.append(chunk);
          if (stderr_tail_.size() > 2 * keep_) stderr_tail_.erase(0, stderr_tail_.size() - keep_);
        })) {
      stderr_fd_.reset();
    }
  }

  // One step of the supervision: runs until the program has exited and its
  // group is empty (or killed), then reaps it. The leader is reaped last:
  // while it is a zombie its PID, and so its group id, cannot be reused, so
  // the group signals never reach a stranger.
  Interest supervise(bool ready) {
    proc::Child& child = *child_;
    if (ready) transfer();
    // Its exit turns the watched pidfd readable; without one, look each slice.
    if (!exited_ && (ready || child.pidfd() < 0 || stopping_)) exited_ = !child.running();
    const auto now = Clock::now();
    if (!stopping_) {
      if (exited_) {
        // Done; whatever it left running in its group is stopped too (a
        // group of only the zombie leader receives nothing).
        child.signal_group(SIGTERM);
        stopping_ = true;
        term_at_ = now;
      } else {
        if (ctx_->cancelled()) {
          stop_ = Stop::cancelled;
        } else if (now >= deadline_) {
          stop_ = Stop::timeout;
        } else if (stdout_text_.size() > kMaxStdoutBytes) {
          stop_ = Stop::stdout_too_large;
        }
        if (stop_ != Stop::none) {
          child.signal_group(SIGTERM);
          stopping_ = true;
          term_at_ = now;
        }
      }
    }
    std::optional<Clock::time_point> census_at;  // when the census may answer
    if (stopping_) {
      if (exited_ && !group_gone_) {
        const std::optional<bool> live = census().live(child.pid());
        if (live) {
          group_gone_ = !*live;
        } else {
          census_at = census().next_walk();
        }
      }
      if (group_gone_ && !stdout_fd_.open() && !stderr_fd_.open()) return reap();
      if (!killed_ && now - term_at_ >= kKillGrace) {
        child.signal_group(SIGKILL);
        killed_ = true;
      }
      // A descriptor kept open by a process that left the group is not waited for.
      if (killed_ && exited_) return reap();
    }
    if (stopping_ || exited_) stdin_fd_.reset();

    // Wait for output, room on stdin or the program's exit for at most one
    // slice: the slice bounds how late a cancellation or the group's end is
    // noticed.
    Interest next;
    if (stdin_fd_.open() && written_ < payload_.size()) next.add(stdin_fd_.get(), true);
    if (stdout_fd_.open()) next.add(stdout_fd_.get(), false);
    if (stderr_fd_.open()) next.add(stderr_fd_.get(), false);
    if (!exited_ && child.pidfd() >= 0) next.add(child.pidfd(), false);
    next.wake = now + kPollSlice;
    if (!stopping_) next.wake = std::min(next.wake, deadline_);
    if (census_at) next.wake = std::min(next.wake, *census_at);
    return next;
  }

  // The group is gone (or SIGKILLed); the leader is a zombie now or soon.
  Interest reap() {
    const proc::ExitStatus status = child_->wait();
    if (stop_ == Stop::none && stdout_text_.size() > kMaxStdoutBytes) stop_ = Stop::stdout_too_large;
    if (stop_ == Stop::none && status.how == proc::ExitStatus::How::unknown) {
      return finish(fatal(where_ + ": its exit status was collected by another part of the process"));
    }
    return finish(outcome(stop_, status, stdout_text_, stderr_tail_));
  }

  // Reads what is available; false at EOF or on an error.
  template <typename Sink>
  static bool drain(const Fd& fd, Sink&& sink) {
    std::array<char, 16384> buffer{};
    for (;;) {
      const ssize_t r = ::read(fd.get(), buffer.data(), buffer.size());
      if (r > 0) {
        sink(std::string_view(buffer.data(), static_cast<std::size_t>(r)));
        continue;
      }
      if (r == 0) return false;
      return errno == EAGAIN || errno == EINTR;
    }
  }

  std::string stderr_suffix(const std::string& raw) const {
    if (raw.empty()) return " (stderr empty)";
    // Redacted before the cut: no part of a secret survives at the edge.
    return "; stderr:\n" + tail(printable(secrets_.redact(raw)), kStderrTailBytes);
  }

  StepResult outcome(Stop stop, const proc::ExitStatus& status, const std::string& out,
                     const std::string& err) const {
    switch (stop) {
      case Stop::cancelled: return retryable(where_ + ": cancelled");
      case Stop::timeout:
        return retryable(where_ + ": timed out after " + std::to_string(spec_->timeout.count()) +
                         " ms; its process group was stopped" + stderr_suffix(err));
      case Stop::stdout_too_large:
        return fatal(where_ + ": stdout is larger than " + std::to_string(kMaxStdoutBytes) + " bytes" +
                     stderr_suffix(err));
      case Stop::none: break;
    }
    if (status.signaled()) return fatal(where_ + ": " + status.describe() + stderr_suffix(err));
    const int code = status.exited() ? status.value : -1;
    if (code == kExitTempFail) {
      return retryable(where_ + ": exited with status 75 (EX_TEMPFAIL)" + stderr_suffix(err));
    }
    if (code != 0) return fatal(where_ + ": exited with status " + std::to_string(code) + stderr_suffix(err));

    if (out.find_first_not_of(" \t\r\n") == std::string::npos) {
      return fatal(where_ + ": exited 0 but stdout is empty; expected one JSON value (the step's output)" +
                   stderr_suffix(err));
    }
    if (!engine::json_text_depth_within(out, engine::kMaxJsonDepth)) {
      return fatal(where_ + ": exited 0 but stdout nests deeper than " + std::to_string(engine::kMaxJsonDepth) +
                   " levels" + stderr_suffix(err));
    }
    Json output;
    try {
      output = Json::parse(out);
    } catch (const Json::parse_error& e) {
      // Without nlohmann's "; last read: '...'": that would be the program's output.
      std::string detail = e.what();
      detail = detail.substr(0, detail.find("; last read"));
      return fatal(where_ + ": exited 0 but stdout is not one JSON value (" + printable(detail) + ")" +
                   stderr_suffix(err));
    }
    return secrets_.redact_json(output);
  }

  std::shared_ptr<const ExecSpec> spec_;
  std::shared_ptr<StepContext> ctx_;
  engine::TemplateContext tctx_;
  StepDone done_;
  engine::Redactor secrets_;
  std::string where_ = "exec";

  // The running program: set by spawn().
  std::optional<proc::Child> child_;
  Fd stdin_fd_;
  Fd stdout_fd_;
  Fd stderr_fd_;
  std::string payload_;       // stdin
  std::size_t written_ = 0;   // of payload_
  std::string stdout_text_;
  std::string stderr_tail_;   // the last bytes, enough for the tail after redaction
  std::size_t keep_ = 0;      // how many of them
  Clock::time_point deadline_{};
  Stop stop_ = Stop::none;
  bool exited_ = false;       // the program (group leader) has exited, not yet reaped
  bool group_gone_ = false;   // after the exit, no live process was left in its group (final)
  bool stopping_ = false;     // SIGTERM sent to the group (or it exited)
  bool killed_ = false;       // SIGKILL sent to the group
  Clock::time_point term_at_{};
};

}  // namespace

AsyncStepHandler exec_async_kind(const Json& with) {
  auto spec = std::make_shared<const ExecSpec>(parse_spec(with));
  return [spec](std::shared_ptr<StepContext> ctx, StepDone done) {
    ProcessLoop::shared().start(std::make_unique<Attempt>(spec, std::move(ctx), std::move(done)));
  };
}

StepHandler exec_kind(const Json& with) { return blocking(exec_async_kind(with)); }

}  // namespace steadfast::steps
