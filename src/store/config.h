// The deployment's config key, <prefix>:{<prefix>}:config: the facts every
// process of one deployment must agree on, stored once by the first writer.
// A process started with another partition count would put runs where no
// other process looks (and read none of theirs), so a mismatch is refused
// with both numbers before anything is written.
//
// Writers (worker, serve, dev) call ensure_config at start; read-only tools
// call check_config, which never writes. Thread-safety: as redis::Client.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "redis/client.h"
#include "store/keys.h"

namespace steadfast::store {

// 1: before the config key (global keys untagged, retries in `delayed`);
// 2: the meta slot for global keys and the timer set per partition;
// 3: the run indexes (store/run_index.h) and the retention as a timer.
inline constexpr int kSchemaVersion = 3;
// How run keys are spread (the config's `layout`): "partitioned" = hash tag
// {P}, "spread" = the tags of store::Layout::spread; P = fnv1a(run id) % partitions.

struct DeploymentConfig {
  int partitions = 1;
  std::string layout;
  int schema_version = 0;
  std::int64_t created_at_ms = 0;  // Redis time of the first writer
};

// Thrown when this process disagrees with the stored config; what() names
// both values and the key.
class ConfigMismatch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Creates the config if absent (with keys.partitions()) and returns it; throws
// ConfigMismatch if the stored partitions, layout or a newer schema disagree.
// The first process of schema 2 on data of schema 1 copies the global keys
// it still needs (workflow definitions, queue names) under the meta slot;
// the first of schema 3 adds the runs already stored to the run indexes
// (one SCAN, before the version is raised: a process that dies meanwhile
// leaves it to the next one).
boost::asio::awaitable<DeploymentConfig> ensure_config(redis::Client& client, const KeySpace& keys);

// Reads the config without writing; nullopt if none was written yet. Throws
// ConfigMismatch as ensure_config does.
boost::asio::awaitable<std::optional<DeploymentConfig>> check_config(redis::Client& client,
                                                                     const KeySpace& keys);

}  // namespace steadfast::store
