#include "support/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "redis/pipeline.h"

namespace steadfast::test {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view kServerDirPrefix = "steadfast-redis-";
constexpr const char* kOwnerFile = "harness.pid";  // "<test pid> <server pid>"

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) noexcept : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string tail(const std::string& text, std::size_t max = 4000) {
  return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

std::string join(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    out += a.empty() ? "''" : a;
  }
  return out;
}

// True while pid runs; a zombie (dead, not yet reaped by its parent) is dead.
bool process_alive(pid_t pid) {
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno != EPERM)) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');  // "pid (comm) S ..."; comm may hold spaces
  return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'Z';
}

// Writes "<our pid> <server pid>" so that a later run can clean up after a test
// binary that died without stopping its server (SIGKILL by a ctest timeout).
void write_owner_file(const std::string& dir, pid_t server) {
  const std::string tmp = dir + "/" + kOwnerFile + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << ::getpid() << ' ' << server << '\n';
  }
  std::filesystem::rename(tmp, dir + "/" + kOwnerFile);
}

// Kills (by the recorded PID) servers whose test binary is gone, and removes
// their folders. A server is only killed if its working directory is still the
// folder we made for it, so a recycled PID is never hit.
void reap_orphans() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/tmp", ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kServerDirPrefix) || !entry.is_directory(ec)) continue;
    std::ifstream in(entry.path() / kOwnerFile);
    long owner = 0;
    long server = 0;
    if (!(in >> owner >> server) || owner <= 0) continue;  // being set up by someone
    if (process_alive(static_cast<pid_t>(owner))) continue;
    if (server > 0) {
      std::error_code link_ec;
      auto cwd = std::filesystem::read_symlink("/proc/" + std::to_string(server) + "/cwd", link_ec);
      if (!link_ec && cwd == entry.path()) ::kill(static_cast<pid_t>(server), SIGKILL);
    }
    std::filesystem::remove_all(entry.path(), ec);
  }
}

// Blocking I/O with a deadline on a socket.
void send_all(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    pollfd p{fd, POLLOUT, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      throw std::runtime_error("timed out writing to redis-server");
    }
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw_errno("write to redis-server");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::vector<redis::Reply> read_replies(int fd, std::size_t count, Clock::time_point deadline) {
  redis::ReplyParser parser;
  std::vector<redis::Reply> replies;
  char buf[16384];
  while (replies.size() < count) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      throw std::runtime_error("timed out waiting for redis-server's reply");
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw_errno("read from redis-server");
    }
    if (n == 0) throw std::runtime_error("redis-server closed the connection");
    parser.feed(buf, static_cast<std::size_t>(n));
    while (auto r = parser.next()) replies.push_back(std::move(*r));
  }
  return replies;
}

}  // namespace

std::string make_temp_dir(std::string_view prefix) {
  std::string tmpl = "/tmp/" + std::string(prefix) + "XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw_errno("mkdtemp " + tmpl);
  return tmpl;
}

std::uint16_t free_port() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw_errno("bind 127.0.0.1:0");
  socklen_t len = sizeof addr;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) throw_errno("getsockname");
  return ntohs(addr.sin_port);
}

namespace {

// True if 127.0.0.1:port could be bound a moment ago.
bool port_is_free(std::uint16_t port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

// A free port P below 55000 whose cluster bus port P + 10000 is free too.
std::uint16_t free_cluster_port() {
  for (int i = 0; i < 1000; ++i) {
    const std::uint16_t p = free_port();
    if (p < 55000 && port_is_free(static_cast<std::uint16_t>(p + 10000))) return p;
  }
  throw std::runtime_error("no free port below 55000 with its cluster bus port (+10000) free");
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  if (argv.empty()) throw std::invalid_argument("run_process: empty argv");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  Fd read_end(fds[0]);
  Fd write_end(fds[1]);

  proc::SpawnOptions options;
  options.argv = argv;
  options.out = proc::Stdio::from_fd(write_end.get());
  options.err = proc::Stdio::to_stdout();
  proc::Child child(options);
  write_end.reset();

  ProcessResult result;
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  for (;;) {
    pollfd p{read_end.get(), POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      child.kill();
      throw std::runtime_error("'" + join(argv) + "' did not finish within " +
                               std::to_string(timeout.count()) + " ms; output:\n" + tail(result.output));
    }
    const ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf, static_cast<std::size_t>(n));
  }
  result.exit_code = child.wait().shell_code();
  return result;
}

TestCertificates make_test_certificates(const std::string& dir) {
  TestCertificates c;
  c.ca_cert = dir + "/ca.crt";
  c.ca_key = dir + "/ca.key";
  c.server_cert = dir + "/server.crt";
  c.server_key = dir + "/server.key";
  c.client_cert = dir + "/client.crt";
  c.client_key = dir + "/client.key";
  c.other_ca_cert = dir + "/other-ca.crt";
  const std::string ext_file = dir + "/leaf.ext";
  {
    std::ofstream ext(ext_file);
    ext << "basicConstraints=CA:FALSE\n"
           "keyUsage=critical,digitalSignature,keyEncipherment\n"
           "extendedKeyUsage=serverAuth,clientAuth\n"
           "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  }
  auto openssl = [](std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    ProcessResult r = run_process(args, 30s);
    if (r.exit_code != 0) {
      throw std::runtime_error("'" + join(args) + "' failed (" + std::to_string(r.exit_code) + "):\n" + r.output);
    }
  };
  auto make_ca = [&](const std::string& cert, const std::string& key, const std::string& cn) {
    openssl({"req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + cn, "-addext",
             "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
  };
  auto make_leaf = [&](const std::string& cert, const std::string& key, const std::string& cn) {
    const std::string csr = cert + ".csr";
    openssl({"req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-keyout",
             key, "-out", csr, "-subj", "/CN=" + cn});
    openssl({"x509", "-req", "-in", csr, "-CA", c.ca_cert, "-CAkey", c.ca_key, "-CAcreateserial", "-out", cert,
             "-days", "2", "-extfile", ext_file});
  };
  make_ca(c.ca_cert, c.ca_key, "steadfast test CA");
  make_ca(c.other_ca_cert, dir + "/other-ca.key", "steadfast unrelated CA");
  make_leaf(c.server_cert, c.server_key, "127.0.0.1");
  make_leaf(c.client_cert, c.client_key, "steadfast test client");
  return c;
}

RedisServer::RedisServer(RedisServerOptions options) : options_(std::move(options)) {
  static const bool reaped = (reap_orphans(), true);
  (void)reaped;
  if (options_.start_timeout.count() == 0) options_.start_timeout = 10s;
  dir_ = make_temp_dir(kServerDirPrefix);
  write_owner_file(dir_, 0);
  unix_socket_ = options_.unix_socket;
  if (!unix_socket_.empty() && unix_socket_.front() != '/') unix_socket_ = dir_ + "/" + unix_socket_;
  if (unix_socket_.empty() && options_.tls) unix_socket_ = dir_ + "/redis.sock";

  // The port was free when we looked; another process may take it before the
  // server binds it. Then we try another one.
  for (int attempt = 1;; ++attempt) {
    port_ = options_.cluster ? free_cluster_port() : free_port();
    try {
      spawn();
      wait_ready();
      return;
    } catch (const std::exception&) {
      const bool port_taken = log().find("Address already in use") != std::string::npos;
      if (!port_taken || attempt == 5) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        throw;
      }
      std::filesystem::remove(log_path());
    }
  }
}

RedisServer::~RedisServer() {
  try {
    stop();
  } catch (...) {
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::vector<std::string> RedisServer::command_line() const {
  std::vector<std::string> argv = {"redis-server",
                                   "--bind", "127.0.0.1",
                                   "--port", options_.tls ? "0" : std::to_string(port_),
                                   "--dir", dir_,
                                   "--daemonize", "no",
                                   "--save", "",
                                   "--appendonly", options_.appendonly ? "yes" : "no",
                                   "--appendfsync", options_.appendfsync,
                                   "--enable-debug-command", "local"};
  if (!unix_socket_.empty()) {
    argv.insert(argv.end(), {"--unixsocket", unix_socket_, "--unixsocketperm", "700"});
  }
  if (options_.tls) {
    const TlsServerFiles& t = *options_.tls;
    argv.insert(argv.end(), {"--tls-port", std::to_string(port_), "--tls-cert-file", t.cert_file,
                             "--tls-key-file", t.key_file, "--tls-ca-cert-file", t.ca_file,
                             "--tls-auth-clients", t.auth_clients ? "yes" : "no"});
  }
  if (options_.cluster) {
    argv.insert(argv.end(), {"--cluster-enabled", "yes", "--cluster-config-file", dir_ + "/nodes.conf"});
  }
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  return argv;
}

void RedisServer::spawn() {
  proc::SpawnOptions options;
  options.argv = command_line();
  options.out = proc::Stdio::append_to(log_path());
  options.err = proc::Stdio::to_stdout();
  server_ = proc::Child(options);
  write_owner_file(dir_, server_.pid());
}

void RedisServer::start() {
  if (running()) return;
  spawn();
  wait_ready();
}

void RedisServer::wait_ready() {
  const auto deadline = Clock::now() + options_.start_timeout;
  for (;;) {
    if (const auto status = server_.try_wait()) {
      forget_server();
      throw std::runtime_error("redis-server exited with status " + std::to_string(status->shell_code()) +
                               " while starting (" + join(command_line()) + "); its log:\n" + tail(log()));
    }
    if (ping_once()) {
      if (options_.cluster && options_.cluster_owns_every_slot) wait_cluster_ok(deadline);
      return;
    }
    if (Clock::now() >= deadline) {
      kill();
      throw std::runtime_error("redis-server did not answer PING within " +
                               std::to_string(options_.start_timeout.count()) + " ms (" + join(command_line()) +
                               "); its log:\n" + tail(log()));
    }
    std::this_thread::sleep_for(5ms);
  }
}

void RedisServer::wait_cluster_ok(Clock::time_point deadline) {
  // A fresh node owns no slot; a restarted one read its slots back from nodes.conf.
  const redis::Reply info = call({"CLUSTER", "INFO"});
  if (info.str().find("cluster_slots_assigned:16384") == std::string_view::npos) {
    const redis::Reply added = call({"CLUSTER", "ADDSLOTSRANGE", "0", "16383"});
    if (added.is_error()) {
      throw std::runtime_error("CLUSTER ADDSLOTSRANGE 0 16383: " + std::string(added.str()));
    }
  }
  for (;;) {
    const redis::Reply state = call({"CLUSTER", "INFO"});
    if (state.str().find("cluster_state:ok") != std::string_view::npos) return;
    if (Clock::now() >= deadline) {
      kill();
      throw std::runtime_error("the one-node cluster did not reach cluster_state:ok within " +
                               std::to_string(options_.start_timeout.count()) + " ms; CLUSTER INFO:\n" +
                               std::string(state.str()) + "its log:\n" + tail(log()));
    }
    std::this_thread::sleep_for(10ms);
  }
}

int RedisServer::connect_control(std::chrono::milliseconds timeout) const {
  const bool use_unix = options_.tls.has_value();
  Fd fd(::socket(use_unix ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) throw_errno("socket");
  int rc = 0;
  if (use_unix) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (unix_socket_.size() >= sizeof addr.sun_path) throw std::runtime_error("unix socket path too long");
    std::memcpy(addr.sun_path, unix_socket_.c_str(), unix_socket_.size() + 1);
    rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } else {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port_);
    rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  if (rc != 0 && errno != EINPROGRESS) return -1;
  if (rc != 0) {
    pollfd p{fd.get(), POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return -1;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return -1;
  }
  return fd.release();
}

bool RedisServer::ping_once() const {
  Fd fd(connect_control(500ms));
  if (fd.get() < 0) return false;
  redis::Pipeline p;
  if (!options_.admin_password.empty()) {
    if (options_.admin_user.empty()) p.add("AUTH", options_.admin_password);
    else p.add("AUTH", options_.admin_user, options_.admin_password);
  }
  p.add("PING");
  try {
    const auto deadline = Clock::now() + 1s;
    send_all(fd.get(), p.bytes(), deadline);
    auto replies = read_replies(fd.get(), p.size(), deadline);
    // Any answer but LOADING means the server runs commands (NOAUTH counts).
    return !(replies.back().is_error() && replies.back().str().starts_with("LOADING"));
  } catch (const std::exception&) {
    return false;
  }
}

redis::Reply RedisServer::call(std::initializer_list<std::string_view> args, std::chrono::milliseconds timeout) const {
  return call(std::vector<std::string>(args.begin(), args.end()), timeout);
}

redis::Reply RedisServer::call(const std::vector<std::string>& args, std::chrono::milliseconds timeout) const {
  if (!running()) throw std::runtime_error("redis-server is not running");
  Fd fd(connect_control(timeout));
  if (fd.get() < 0) throw std::runtime_error("cannot connect to redis-server in " + dir_);
  redis::Pipeline p;
  if (!options_.admin_password.empty()) {
    if (options_.admin_user.empty()) p.add("AUTH", options_.admin_password);
    else p.add("AUTH", options_.admin_user, options_.admin_password);
  }
  p.add_argv(std::span<const std::string>(args));
  const auto deadline = Clock::now() + timeout;
  send_all(fd.get(), p.bytes(), deadline);
  auto replies = read_replies(fd.get(), p.size(), deadline);
  return std::move(replies.back());
}

// After the server was reaped: nothing for the orphan reaper to kill.
void RedisServer::forget_server() { write_owner_file(dir_, 0); }

void RedisServer::stop(std::chrono::milliseconds grace) {
  if (!running()) return;
  server_.terminate(grace);  // SIGTERM and SIGCONT (a paused server handles SIGTERM only once continued)
  forget_server();
}

void RedisServer::kill() {
  if (!running()) return;
  server_.kill();
  forget_server();
}

void RedisServer::pause() {
  if (!running()) throw std::runtime_error("redis-server is not running");
  server_.signal(SIGSTOP);
  server_.wait_stopped();
}

void RedisServer::resume() { server_.signal(SIGCONT); }

void RedisServer::restart() {
  stop();
  start();
}

std::string RedisServer::url() const {
  if (options_.tls) return "rediss://127.0.0.1:" + std::to_string(port_) + "?ca=" + options_.tls->ca_file;
  return "redis://127.0.0.1:" + std::to_string(port_);
}

std::string RedisServer::log() const { return read_file(log_path()); }

}  // namespace steadfast::test
