#include "store/keys.h"

#include "redis/slot.h"

#include <stdexcept>

#include "engine/quote.h"
#include "redis/script.h"

namespace steadfast::store {

bool is_valid_idempotency_key(std::string_view key) noexcept {
  if (key.empty() || key.size() > 256) return false;
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

bool is_valid_stream_id(std::string_view id) noexcept {
  const auto dash = id.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == id.size() || id.size() > 41) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i != dash && (id[i] < '0' || id[i] > '9')) return false;
  }
  return true;
}

bool is_valid_key_prefix(std::string_view prefix) noexcept {
  if (prefix.empty() || prefix.size() > 128) return false;
  for (char c : prefix) {
    // '{' '}' would move the hash tag; ':' separates the parts of a key; '*' '?'
    // '[' ']' '\\' are glob syntax, and the prefix goes into SCAN MATCH patterns
    // (a prefix "s*" would match the keys of prefix "sf" too).
    if (c < 0x21 || c > 0x7e) return false;
    if (std::string_view("{}:*?[]\\").find(c) != std::string_view::npos) return false;
  }
  return true;
}

KeySpace::KeySpace(std::string prefix, int partitions, Layout layout)
    : prefix_(std::move(prefix)), partitions_(partitions) {
  if (partitions_ < 1 || partitions_ > 16384) {
    throw std::invalid_argument("partitions must be in 1..16384, got " + std::to_string(partitions));
  }
  if (!is_valid_key_prefix(prefix_)) {
    throw std::invalid_argument("invalid key prefix " + engine::quote(prefix_, 80) +
                                " (1-128 printable ASCII characters, none of: space { } : * ? [ ] \\)");
  }
  if (layout == Layout::spread) tags_ = std::make_shared<const std::vector<std::string>>(spread_tags(partitions_));
}

KeySpace KeySpace::for_redis(const redis::Config& redis, std::string prefix, int partitions) {
  const bool cluster = !redis.cluster_nodes.empty();
  if (partitions == 0) partitions = cluster ? kClusterPartitions : 1;
  return KeySpace(std::move(prefix), partitions, cluster ? Layout::spread : Layout::numbered);
}

const char* KeySpace::layout_name() const noexcept { return tags_ ? "spread" : "partitioned"; }

std::vector<std::string> spread_tags(int partitions) {
  std::vector<std::string> tags;
  tags.reserve(static_cast<std::size_t>(partitions));
  for (int p = 0; p < partitions; ++p) {
    // The middle of the p-th of `partitions` equal ranges of 16384 slots.
    const int target = static_cast<int>((2LL * p + 1) * redis::kClusterSlots / (2LL * partitions));
    const std::string stem = std::to_string(p) + ".";
    for (int k = 0;; ++k) {
      std::string tag = stem + std::to_string(k);
      if (redis::key_slot(tag) == target) {
        tags.push_back(std::move(tag));
        break;
      }
    }
  }
  return tags;
}

int KeySpace::partition_of(std::string_view run_id) const noexcept {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : run_id) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<int>(h % static_cast<std::uint64_t>(partitions_));
}

std::string KeySpace::partition_base(int partition) const {
  if (tags_) return prefix_ + ":{" + (*tags_)[static_cast<std::size_t>(partition)] + "}:";
  return prefix_ + ":{" + std::to_string(partition) + "}:";
}

std::string KeySpace::run(std::string_view run_id) const {
  return partition_base(partition_of(run_id)) + "run:" + std::string(run_id);
}
std::string KeySpace::queue(int partition, std::string_view q) const {
  return partition_base(partition) + "q:" + std::string(q);
}
std::string KeySpace::timers(int partition) const { return partition_base(partition) + "timers"; }
std::string KeySpace::retention(int partition) const { return partition_base(partition) + "retention"; }
std::string KeySpace::deadlines(int partition) const { return partition_base(partition) + "deadlines"; }
std::string KeySpace::legacy_delayed(int partition) const { return partition_base(partition) + "delayed"; }
std::string KeySpace::dlq(int partition) const { return partition_base(partition) + "dlq"; }
std::string KeySpace::duty(int partition) const { return partition_base(partition) + "duty"; }
namespace {
std::string idempotency_digest(std::string_view workflow, std::string_view key) {
  std::string scoped(workflow);
  scoped += '\n';  // never in a workflow name: "a"+"\nb" and "a\n"+"b" cannot meet
  scoped += key;
  return redis::sha1_hex(scoped);
}
}  // namespace

std::string KeySpace::idempotency(std::string_view workflow, std::string_view key) const {
  const std::string digest = idempotency_digest(workflow, key);
  return partition_base(partition_of(digest)) + "idem:" + digest;
}
int KeySpace::idempotency_partition(std::string_view workflow, std::string_view key) const {
  return partition_of(idempotency_digest(workflow, key));
}
std::string KeySpace::stats(int partition) const { return partition_base(partition) + "stats"; }
std::string KeySpace::series(int partition, std::int64_t hour) const {
  return partition_base(partition) + "series:" + std::to_string(hour);
}

std::string KeySpace::index_all(int partition) const { return partition_base(partition) + "ix:runs"; }
std::string KeySpace::index_workflow(int partition, std::string_view workflow) const {
  return partition_base(partition) + "ix:wf:" + std::string(workflow);
}
std::string KeySpace::index_status(int partition, std::string_view group) const {
  return partition_base(partition) + "ix:st:" + std::string(group);
}
std::string KeySpace::index_meta(int partition, std::string_view key, std::string_view value) const {
  return partition_base(partition) + "ix:meta:" + std::string(key) + ":" + redis::sha1_hex(value);
}
std::string KeySpace::meta_base() const { return prefix_ + ":{" + prefix_ + "}:"; }
std::string KeySpace::config() const { return meta_base() + "config"; }
std::string KeySpace::workflows() const { return meta_base() + "workflows"; }
std::string KeySpace::workers() const { return meta_base() + "workers"; }
std::string KeySpace::worker_lock(std::string_view id) const {
  return meta_base() + "worker:" + std::string(id);
}
std::string KeySpace::queues() const { return meta_base() + "queues"; }
std::string KeySpace::limiters() const { return meta_base() + "limiters"; }
std::string KeySpace::paused_queues() const { return meta_base() + "paused-queues"; }
std::string KeySpace::audit() const { return meta_base() + "audit"; }
std::string KeySpace::task_claim(std::string_view worker, std::string_view request_id) const {
  return meta_base() + "task-claim:" + std::string(worker) + ":" + std::string(request_id);
}
std::string KeySpace::task_done(int partition, std::string_view queue, std::string_view entry_id,
                                long long deliveries) const {
  return meta_base() + "task-done:" + std::to_string(partition) + ":" + std::string(queue) + ":" +
         std::string(entry_id) + ":" + std::to_string(deliveries);
}
std::string KeySpace::bulk_job(std::string_view id) const { return meta_base() + "bulk:" + std::string(id); }
std::string KeySpace::bulk_jobs() const { return meta_base() + "bulk:jobs"; }
std::string KeySpace::bulk_active() const { return meta_base() + "bulk:active"; }
std::string KeySpace::token_live_runs(std::string_view token_id) const {
  return meta_base() + "token-live:" + std::string(token_id);
}
std::string KeySpace::schedules() const { return meta_base() + "schedules"; }
int KeySpace::schedule_partition(std::string_view name) const noexcept {
  return partition_of("schedule\t" + std::string(name));
}
std::string KeySpace::schedule(std::string_view name) const {
  return partition_base(schedule_partition(name)) + "schedule:" + std::string(name);
}
std::string KeySpace::legacy_workflows() const { return prefix_ + ":workflows"; }
std::string KeySpace::legacy_queues() const { return prefix_ + ":queues"; }
std::string KeySpace::limit(std::string_view name) const {
  return prefix_ + ":{" + prefix_ + ":limits}:limit:" + std::string(name);
}
std::string KeySpace::limit_holders(std::string_view name) const {
  return limit(name) + ":holders";
}
std::string KeySpace::limit_instance(std::string_view name, std::string_view key) const {
  return limit(name) + ":k:" + redis::sha1_hex(key);
}
std::string KeySpace::limit_instance_holders(std::string_view name, std::string_view key) const {
  return limit_instance(name, key) + ":holders";
}
std::string KeySpace::limit_overrides(std::string_view name) const { return limit(name) + ":overrides"; }

}  // namespace steadfast::store
