#include "store/config.h"

#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "engine/run_metadata.h"
#include "redis/error.h"
#include "redis/pipeline.h"
#include "store/run_id.h"
#include "store/run_index.h"
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
  if (c.layout != keys.layout_name()) {
    const bool known = c.layout == "partitioned" || c.layout == "spread";
    throw ConfigMismatch("the data under key prefix '" + keys.prefix() + "' uses layout '" + c.layout + "' (" +
                         keys.config() + "), this process '" + keys.layout_name() + "'" +
                         (known ? std::string(": 'spread' is a Redis Cluster's (redis+cluster://), 'partitioned' one "
                                              "server's; moving between them is docs/reliability.md's procedure")
                                : std::string(": this version knows 'partitioned' and 'spread'")));
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

// Schema 3 indexes every run (store/run_index.h) and ends an ended run's
// retention with an 'expire' timer. Runs stored before are added here: their
// indexes from workflow, status and metadata, and, for an ended run whose
// hash has a TTL, an expire timer a minute before it (the TTL was the
// retention). Idempotent (ZADD), so two processes upgrading at once, or one
// after another that died, do no harm. Returns how many runs were indexed.
asio::awaitable<std::size_t> index_stored_runs(redis::Client& client, const KeySpace& keys) {
  std::size_t indexed = 0;
  const std::string pattern = keys.prefix() + ":{*}:run:*";
  std::string cursor = "0";
  do {
    const redis::Reply page = co_await client.command("SCAN", cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = std::string(page[0].str());
    std::vector<std::string> ids;
    redis::Pipeline reads;
    for (const redis::Reply& k : page[1].elements()) {
      const std::string_view key = k.str();
      const std::string id(key.substr(key.rfind(':') + 1));
      if (!is_valid_run_id(id) || keys.run(id) != key) continue;  // another layout's key
      ids.push_back(id);
      reads.add("HMGET", keys.run(id), "workflow", "status", "metadata");
      reads.add("PEXPIRETIME", keys.run(id));
    }
    if (ids.empty()) continue;
    const std::vector<redis::Reply> r = co_await client.exec(std::move(reads));
    redis::Pipeline writes;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const redis::Reply& f = r[2 * i];
      if (!f.is_array() || f[0].is_nil() || f[1].is_nil()) continue;  // gone meanwhile
      const int p = keys.partition_of(ids[i]);
      const std::string_view group = status_group(f[1].str());
      const engine::RunMetadata meta = engine::stored_metadata(f[2].is_nil() ? "" : f[2].str());
      for (const std::string& index : run_index_keys(keys, p, f[0].str(), meta, group)) {
        writes.add("ZADD", index, 0, ids[i]);
      }
      const redis::Reply& ttl = r[2 * i + 1];
      if ((group == "completed" || group == "cancelled") && ttl.is_integer() && ttl.as_integer() > 0) {
        writes.add("ZADD", keys.retention(p), "NX", ttl.as_integer() - 60'000, ids[i] + "\t\texpire");
      }
      ++indexed;
    }
    if (!writes.empty()) {
      for (const redis::Reply& w : co_await client.exec(std::move(writes))) {
        if (w.is_error()) throw redis::ServerError(std::string(w.str()));
      }
    }
  } while (cursor != "0");
  co_return indexed;
}

}  // namespace

asio::awaitable<DeploymentConfig> ensure_config(redis::Client& client, const KeySpace& keys) {
  const auto existing = co_await check_config(client, keys);
  if (existing && existing->schema_version == kSchemaVersion) co_return *existing;
  // Runs stored by schema 1 or 2 are in no index. Schema 1 had no config key
  // but its workflows hash; a fresh deployment has neither and nothing to index.
  const bool older = existing ? existing->schema_version < 3
                              : (co_await client.command("EXISTS", keys.legacy_workflows())).as_integer() == 1;
  if (older) {
    try {
      if (const std::size_t n = co_await index_stored_runs(client, keys); n > 0) {
        spdlog::info("indexed {} run(s) stored by an earlier version (schema {} -> {})", n,
                     existing ? existing->schema_version : 1, kSchemaVersion);
      }
    } catch (const redis::ServerError& e) {
      if (e.prefix() != "NOPERM") throw;
      // A least-privilege worker may not SCAN: a schema 2 stays, the next
      // process with SCAN (serve, doctor's user) upgrades it. Schema 1 data
      // (no config key) is adopted without its runs in the indexes.
      spdlog::warn("the runs stored by schema {} are not indexed yet and this Redis user may not SCAN ({}); {}",
                   existing ? existing->schema_version : 1, e.what(),
                   existing ? "the first `steadfast serve` (or any process whose user may) indexes them"
                            : "they stay out of the run list");
      if (existing) co_return *existing;
    }
  }
  const std::vector<std::string> k{keys.config()};
  const std::vector<std::string> args{std::to_string(keys.partitions()), std::string(keys.layout_name()),
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
