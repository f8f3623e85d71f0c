#include "store/config.h"

#include <string>
#include <vector>

#include "store/scripts.h"

namespace steadfast::store {

namespace asio = boost::asio;

namespace {

DeploymentConfig parse(const redis::Reply& flat) {
  DeploymentConfig c;
  for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
    const std::string_view k = flat[i].str();
    const std::string v(flat[i + 1].str());
    if (k == "partitions") c.partitions = std::stoi(v);
    if (k == "layout") c.layout = v;
    if (k == "schema_version") c.schema_version = std::stoi(v);
    if (k == "created_at") c.created_at_ms = std::stoll(v);
  }
  return c;
}

void check(const DeploymentConfig& c, const KeySpace& keys) {
  if (c.schema_version > kSchemaVersion) {
    throw ConfigMismatch("the data under key prefix '" + keys.prefix() + "' was written by a newer steadfast (schema " +
                         std::to_string(c.schema_version) + " in " + keys.config() +
                         "); this version understands schema " + std::to_string(kSchemaVersion) +
                         ": upgrade this process");
  }
  if (c.layout != kLayout) {
    throw ConfigMismatch("the data under key prefix '" + keys.prefix() + "' uses layout '" + c.layout + "' (" +
                         keys.config() + "); this version knows '" + kLayout + "'");
  }
  if (c.partitions != keys.partitions()) {
    throw ConfigMismatch("partition count mismatch: the deployment under key prefix '" + keys.prefix() + "' has " +
                         std::to_string(c.partitions) + " partition(s) (stored in " + keys.config() +
                         "), this process was started with " + std::to_string(keys.partitions()) +
                         ": start it with --partitions " + std::to_string(c.partitions));
  }
}

// Schema 1 kept the workflow definitions and queue names in untagged keys.
// Workers rewrite the definitions at start anyway; the queue names are how
// doctor and stats find streams of earlier workflows. Copied, not moved: a
// worker of schema 1 may still be running (a rolling upgrade) and reads them.
asio::awaitable<void> adopt_schema1_globals(redis::Client& client, const KeySpace& keys) {
  const redis::Reply defs = co_await client.command("HGETALL", keys.legacy_workflows());
  if (defs.size() > 0) {
    for (std::size_t i = 0; i + 1 < defs.size(); i += 2) {
      co_await client.command("HSETNX", keys.workflows(), std::string(defs[i].str()),
                              std::string(defs[i + 1].str()));
    }
  }
  const redis::Reply queues = co_await client.command("SMEMBERS", keys.legacy_queues());
  for (const redis::Reply& q : queues.elements()) {
    co_await client.command("SADD", keys.queues(), std::string(q.str()));
  }
}

}  // namespace

asio::awaitable<DeploymentConfig> ensure_config(redis::Client& client, const KeySpace& keys) {
  if (auto existing = co_await check_config(client, keys)) {
    if (existing->schema_version == kSchemaVersion) co_return *existing;
  }
  const std::vector<std::string> k{keys.config()};
  const std::vector<std::string> args{std::to_string(keys.partitions()), std::string(kLayout),
                                      std::to_string(kSchemaVersion)};
  const redis::Reply r = co_await client.eval(scripts::config(), k, args);
  const DeploymentConfig c = parse(r[1]);
  check(c, keys);
  if (r[0].as_integer() == 1) co_await adopt_schema1_globals(client, keys);
  co_return c;
}

asio::awaitable<std::optional<DeploymentConfig>> check_config(redis::Client& client, const KeySpace& keys) {
  const redis::Reply r = co_await client.command("HGETALL", keys.config());
  if (r.size() == 0) co_return std::nullopt;
  DeploymentConfig c = parse(r);
  check(c, keys);
  co_return c;
}

}  // namespace steadfast::store
