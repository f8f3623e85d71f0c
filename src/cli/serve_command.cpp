// `steadfast serve`: the HTTP API (src/api) for the workflows of a YAML file.
#include <charconv>
#include <cstdint>

#include "api/server.h"
#include "cli/common.h"
#include "config/workflows_file.h"

namespace steadfast::cli {

namespace {

// "HOST:PORT", "[v6]:PORT" or ":PORT" (every interface). Throws std::invalid_argument.
std::pair<std::string, std::uint16_t> parse_listen(const std::string& text) {
  std::string host;
  std::string port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw std::invalid_argument("--listen: expected [ADDRESS]:PORT, got '" + text + "'");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("--listen: expected HOST:PORT, got '" + text + "'");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    throw std::invalid_argument("--listen: bad port '" + port + "'");
  }
  return {host, static_cast<std::uint16_t>(value)};
}

// "1MiB", "512KiB", "64KB", "1000000": bytes. Throws std::invalid_argument.
std::size_t parse_size(const std::string& text) {
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) throw std::invalid_argument("bad size '" + text + "'");
  const std::string unit(end, text.data() + text.size());
  std::size_t factor = 0;
  if (unit.empty() || unit == "B") factor = 1;
  if (unit == "KiB") factor = std::size_t{1} << 10;
  if (unit == "MiB") factor = std::size_t{1} << 20;
  if (unit == "GiB") factor = std::size_t{1} << 30;
  if (unit == "KB" || unit == "kB") factor = 1000;
  if (unit == "MB") factor = 1000 * 1000;
  if (unit == "GB") factor = 1000 * 1000 * 1000;
  if (factor == 0) throw std::invalid_argument("bad size unit in '" + text + "' (B, KiB, MiB, GiB, KB, MB, GB)");
  if (value > SIZE_MAX / factor) throw std::invalid_argument("size '" + text + "' is too large");
  return value * factor;
}

}  // namespace

void register_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Serve the HTTP API for a workflows file (until SIGTERM/SIGINT)");
  struct Args {
    Connection conn;
    std::string workflows;
    std::string listen = "127.0.0.1:8080";
    std::string tokens;
    std::string tls_cert;
    std::string tls_key;
    std::string max_body = "1MiB";
    int max_connections = 512;
    std::string header_timeout = "10s";
    std::string body_timeout = "10s";
    std::string max_wait = "60s";
    std::string retention = "168h";
    std::string bulk_lease = "30s";
    bool allow_eviction = false;
    std::string signing_key_file;
    std::string public_url;
    ReplicaWaitArgs replica_wait;
  };
  auto a = std::make_shared<Args>();
  add_connection_options(*cmd, a->conn);
  cmd->add_option("--workflows", a->workflows, "The YAML workflows file (as the workers')")->required();
  cmd->add_option("--listen", a->listen, "HOST:PORT to listen on ([::1]:PORT for IPv6, :PORT for all)")
      ->capture_default_str();
  cmd->add_option("--tokens", a->tokens,
                  "Bearer tokens file: lines 'sha256:<hex> <submit|admin> [name]' (default: no auth)");
  cmd->add_option("--tls-cert", a->tls_cert,
                  "PEM certificate chain: serve HTTPS (with --tls-key; default: plain HTTP, for a TLS proxy)");
  cmd->add_option("--tls-key", a->tls_key, "PEM private key of --tls-cert");
  cmd->add_option("--max-body", a->max_body, "Largest request body (413 beyond)")->capture_default_str();
  cmd->add_option("--max-connections", a->max_connections, "Open connections at once (503 beyond)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--header-timeout", a->header_timeout,
                  "Time for a request's header to arrive (also the keep-alive idle limit)")
      ->capture_default_str();
  cmd->add_option("--body-timeout", a->body_timeout, "Time for a request's body to arrive")
      ->capture_default_str();
  cmd->add_option("--max-wait", a->max_wait, "Longest long poll (GET /v1/runs/{id}?wait=)")->capture_default_str();
  cmd->add_option("--retention", a->retention, "How long a run cancelled through the API is kept after it ends (other runs: the workers' --retention)")->capture_default_str();
  cmd->add_option("--bulk-lease", a->bulk_lease,
                  "How long a bulk job (POST /v1/runs:bulk) stays with this server without progress: if it dies, "
                  "another serve goes on after this long (at least 1s)")
      ->capture_default_str();
  cmd->add_flag("--allow-eviction", a->allow_eviction,
                "Serve even if Redis' maxmemory-policy is not noeviction (runs may be lost)");
  cmd->add_option("--signing-key-file", a->signing_key_file,
                  "Keys that verify callback URLs (POST /v1/callbacks/...), one \"<key id> <secret>\" per line, "
                  "as the workers'; without it callbacks are 404");
  cmd->add_option("--public-url", a->public_url,
                  "How third parties reach this API; checked here, used by the workers (their --public-url)");
  add_replica_wait_options(*cmd, a->replica_wait);
  cmd->final_callback([a] {
    api::ServerOptions o;
    std::tie(o.host, o.port) = parse_listen(a->listen);
    o.redis_url = a->conn.redis_url;
    o.key_prefix = a->conn.key_prefix;
    o.partitions = a->conn.partitions;
    o.tokens_file = a->tokens;
    o.tls_cert_file = a->tls_cert;
    o.tls_key_file = a->tls_key;
    o.max_body = parse_size(a->max_body);
    o.max_connections = a->max_connections;
    o.header_timeout = config::parse_duration(a->header_timeout);
    o.body_timeout = config::parse_duration(a->body_timeout);
    o.max_wait = config::parse_duration(a->max_wait);
    o.retention = config::parse_duration(a->retention);
    o.bulk_lease = config::parse_duration(a->bulk_lease);
    o.allow_eviction = a->allow_eviction;
    o.public_url = a->public_url;
    o.signing_key_file = a->signing_key_file;
    o.wait_replicas = a->replica_wait.replicas;
    o.wait_replicas_timeout = config::parse_duration(a->replica_wait.timeout);
    std::unique_ptr<api::Server> server;
    try {
      server = std::make_unique<api::Server>(o, config::load_workflows_file(a->workflows));
    } catch (const config::ConfigError& e) {
      throw std::invalid_argument(e.what());
    }
    server->run();  // std::runtime_error when it cannot start: exit 1
  });
}

}  // namespace steadfast::cli
