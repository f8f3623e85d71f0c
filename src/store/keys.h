// The Redis key layout. Every key of a run carries its partition's hash tag
// ("sf:{3}:run:<id>") so one script can touch the run, its stream entry and the
// timer set atomically, and partitions spread over a Redis Cluster; global keys
// share the meta tag ("sf:{sf}:workers").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "redis/config.h"

namespace steadfast::store {

// The consumer group every queue stream is read with.
inline constexpr std::string_view kGroup = "steadfast";

// Idempotency keys: 1-256 printable ASCII characters, no spaces. They become
// part of a key (sf:{P}:idem:<key>), after the partition's hash tag.
[[nodiscard]] bool is_valid_idempotency_key(std::string_view key) noexcept;

// A dead-letter stream entry id, "<ms>-<seq>" (digits only, at most 41 characters).
[[nodiscard]] bool is_valid_stream_id(std::string_view id) noexcept;

// Key prefixes: 1-128 printable ASCII characters, none of space { } : * ? [ ] \.
[[nodiscard]] bool is_valid_key_prefix(std::string_view prefix) noexcept;

// How partitions get their hash tags.
//   numbered  "{0}".."{P-1}" (config layout "partitioned"): one Redis server.
//   spread    "{<p>.<k>}", k the first whose slot is the middle of the p-th of
//             P equal slot ranges (config layout "spread"): a Redis Cluster.
//             Numbered tags fall unevenly (3 partitions over 3 primaries:
//             0/2/1); these fall k per primary when P = k x primaries and the
//             primaries hold equal ranges, as `redis-cli --cluster create`
//             deals them.
enum class Layout { numbered, spread };

// The partitions of a deployment on a Redis Cluster unless told otherwise:
// an even spread over 1, 2, 3, 4, 6 or 12 primaries.
inline constexpr int kClusterPartitions = 12;

class KeySpace {
 public:
  // prefix: the first part of every key ("sf"); partitions >= 1. Throws
  // std::invalid_argument for a bad prefix (is_valid_key_prefix) or partitions.
  explicit KeySpace(std::string prefix = "sf", int partitions = 1, Layout layout = Layout::numbered);
  // The key space for a Redis: spread tags on a cluster (a redis+cluster://
  // config), numbered ones otherwise; partitions 0 = the default, 1 on one
  // server and kClusterPartitions on a cluster.
  [[nodiscard]] static KeySpace for_redis(const redis::Config& redis, std::string prefix, int partitions);

  [[nodiscard]] const std::string& prefix() const noexcept { return prefix_; }
  [[nodiscard]] int partitions() const noexcept { return partitions_; }
  [[nodiscard]] Layout layout() const noexcept { return tags_ ? Layout::spread : Layout::numbered; }
  // As stored in the config key: "partitioned" (numbered) or "spread".
  [[nodiscard]] const char* layout_name() const noexcept;

  // FNV-1a of the run id, modulo the partitions.
  [[nodiscard]] int partition_of(std::string_view run_id) const noexcept;
  // "sf:{P}:" — every per-partition key starts with it.
  [[nodiscard]] std::string partition_base(int partition) const;

  [[nodiscard]] std::string run(std::string_view run_id) const;
  [[nodiscard]] std::string queue(int partition, std::string_view queue) const;
  // ZSET of every token due at a time (retries, scheduled runs' starts,
  // durable sleeps, signal timeouts): members "<run>\t<node>\t<kind>" scored
  // by Redis ms, so the caller can name every key a due member touches.
  [[nodiscard]] std::string timers(int partition) const;
  // ZSET of ended runs' retention ends: members "<run>\t\texpire" scored by
  // Redis ms. Kept apart from the timer set so that the promoter's hot set and
  // the retrying count stay the size of what is due soon, not of what is kept.
  [[nodiscard]] std::string retention(int partition) const;
  // ZSET of run deadlines: members "<run>\t\tdeadline" scored by Redis ms
  // (deadline.lua). Apart from the timer set for the same reason: a deadline
  // is no retry, and the retrying count (the timer set's size) must not count it.
  [[nodiscard]] std::string deadlines(int partition) const;
  // The delayed set of schema 1 (members: run ids, all retries). Read and
  // drained by promote, check_run and cancel, never written.
  [[nodiscard]] std::string legacy_delayed(int partition) const;
  [[nodiscard]] std::string dlq(int partition) const;
  // STRING: the id of the worker that holds the partition's promoter duty,
  // expiring with its lease (lua/duty.lua).
  [[nodiscard]] std::string duty(int partition) const;
  // STRING "<run id>\t<fingerprint>" of an idempotency key of a workflow. The
  // name holds the SHA-1 of workflow and key, never the key itself: a key may
  // hold ':' or '}' and could otherwise pose as another key (a run's).
  [[nodiscard]] std::string idempotency(std::string_view workflow, std::string_view key) const;
  // The partition an idempotency key's run lives in (the run shares its slot).
  [[nodiscard]] int idempotency_partition(std::string_view workflow, std::string_view key) const;
  // HASH of counters: submitted:<wf>, completed:<wf>, failed:<wf>, retries, reclaims.
  [[nodiscard]] std::string stats(int partition) const;
  // HASH of one hour's per-minute samples (lua/series_sample.lua); hour =
  // Unix ms / 3600000. Expires 50 h after its first sample.
  [[nodiscard]] std::string series(int partition, std::int64_t hour) const;

  // Run indexes (store/run_index.h): ZSETs whose members are run ids, all
  // scored 0, so that they sort by id (ULIDs: by creation time) and are paged
  // with ZRANGE ... BYLEX. Written by the scripts only when a run's status
  // changes at run level; an ended run leaves them when its retention ends.
  [[nodiscard]] std::string index_all(int partition) const;  // every run
  // Runs of a workflow (names are ^[A-Za-z0-9_-]{1,64}$, safe in a key).
  [[nodiscard]] std::string index_workflow(int partition, std::string_view workflow) const;
  // Runs of a status group: "live" (not ended), "failed", "cancelled"
  // (completed runs are in no status index: run_index.h).
  [[nodiscard]] std::string index_status(int partition, std::string_view group) const;
  // Runs carrying a metadata pair; the value is hashed (SHA-1): it may hold any byte.
  [[nodiscard]] std::string index_meta(int partition, std::string_view key, std::string_view value) const;

  // Global keys, all under the meta slot "{<prefix>}" (one slot on a cluster).
  // "sf:{sf}:" — every global key starts with it.
  [[nodiscard]] std::string meta_base() const;
  // HASH: partitions, layout, schema_version, created_at (store/config.h).
  [[nodiscard]] std::string config() const;
  [[nodiscard]] std::string workflows() const;  // HASH name -> JSON definition
  [[nodiscard]] std::string workers() const;    // HASH worker id -> JSON registration
  [[nodiscard]] std::string worker_lock(std::string_view worker_id) const;  // STRING, expiring
  [[nodiscard]] std::string queues() const;     // SET of queue names ever used
  // SET of paused queue names: workers take nothing new from them (Store::pause_queue).
  [[nodiscard]] std::string paused_queues() const;
  // STREAM of operator actions (cancel, replay, purge): at, who, action, target,
  // detail; trimmed to about 10,000 entries.
  [[nodiscard]] std::string audit() const;
  // STRING, expiring: the answer of an external worker's claim, kept for its
  // lease so that the same request_id gets the same steps (docs/worker-protocol.md).
  [[nodiscard]] std::string task_claim(std::string_view worker, std::string_view request_id) const;
  // STRING, expiring: the answer of an outcome an external worker's token
  // wrote, so that a repeat (its reply lost) gets it again instead of a 409.
  [[nodiscard]] std::string task_done(int partition, std::string_view queue, std::string_view entry_id,
                                      long long deliveries) const;
  // Bulk jobs (store/bulk.h): HASH of one job (id: a run-id-shaped ULID);
  // ZSET of every job kept (score: creation, Redis ms), for the list; ZSET of
  // the jobs not yet done (score: Redis ms its holder's lease ends; 0 = never
  // claimed), which every `serve` claims from.
  [[nodiscard]] std::string bulk_job(std::string_view id) const;
  [[nodiscard]] std::string bulk_jobs() const;
  [[nodiscard]] std::string bulk_active() const;
  // HASH schedule name -> its definition (JSON, store/schedules.h), as the
  // workflows file last published them; the schedulers fire these.
  [[nodiscard]] std::string schedules() const;
  // A cron schedule's state (HASH: last, last_run, last_tick, paused, fired,
  // ...) lives in the schedule's own partition, beside the runs its ticks
  // create, so that a tick's run and the schedule's advance are one script.
  // Names are ^[A-Za-z0-9_-]{1,64}$ (checked by the caller), safe in a key.
  [[nodiscard]] int schedule_partition(std::string_view name) const noexcept;
  [[nodiscard]] std::string schedule(std::string_view name) const;
  // HASH limiter name -> its bounds (JSON), as the workers last started with them.
  [[nodiscard]] std::string limiters() const;
  // ZSET of the runs a bearer token submitted that may still be live (member
  // run id, score ms when last checked): its max_live quota (api/quotas.h).
  // `token_id` is Principal::id (hex).
  [[nodiscard]] std::string token_live_runs(std::string_view token_id) const;
  // The global keys of schema 1 (no hash tag), copied once by the first
  // process of schema 2 (store/config.cpp).
  [[nodiscard]] std::string legacy_workflows() const;
  [[nodiscard]] std::string legacy_queues() const;
  // A limiter's state (HASH) and its concurrency holders (ZSET). Every
  // limiter key shares the tag {<prefix>:limits}, so that admission through
  // several limiters is one script (also on a cluster).
  [[nodiscard]] std::string limit(std::string_view name) const;
  [[nodiscard]] std::string limit_holders(std::string_view name) const;
  // One key's instance of a keyed limiter (its own state and holders). The
  // key's value comes from run input: only its SHA-1 is part of the name.
  [[nodiscard]] std::string limit_instance(std::string_view name, std::string_view key) const;
  [[nodiscard]] std::string limit_instance_holders(std::string_view name, std::string_view key) const;
  // HASH key value -> JSON of a LimitOverride: a keyed limiter's bounds for
  // some keys, set at run time (PUT /v1/limiters/{name}/overrides/{key}).
  [[nodiscard]] std::string limit_overrides(std::string_view name) const;

 private:
  std::string prefix_;
  int partitions_;
  std::shared_ptr<const std::vector<std::string>> tags_;  // spread: each partition's tag; null: numbered
};

// The spread layout's tag of each of `partitions` partitions (pure; about
// 16,000 CRC16s per partition).
[[nodiscard]] std::vector<std::string> spread_tags(int partitions);

}  // namespace steadfast::store
