#include "redis/cluster_router.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <optional>

#include "redis/slot.h"

namespace steadfast::redis {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often a MOVED may trigger a fresh read of the map (the slot itself is
// remapped at once).
constexpr milliseconds kMapReadInterval{100};

// A flat RESP2 map ["key", value, ...] read as pairs.
const Reply* field(const Reply& flat, std::string_view name) {
  if (!flat.is_array()) return nullptr;
  for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
    if (flat[i].str() == name) return &flat[i + 1];
  }
  return nullptr;
}

int node_index(SlotMap& map, ClusterNode n) {
  for (std::size_t i = 0; i < map.nodes.size(); ++i) {
    if (map.nodes[i].host == n.host && map.nodes[i].port == n.port) return static_cast<int>(i);
  }
  map.nodes.push_back(std::move(n));
  return static_cast<int>(map.nodes.size() - 1);
}

void assign(SlotMap& map, long long from, long long to, int node) {
  if (from < 0 || to >= kClusterSlots || from > to) throw ProtocolError("a slot range out of 0..16383 in the slot map");
  for (long long s = from; s <= to; ++s) map.owner[static_cast<std::size_t>(s)] = static_cast<std::int16_t>(node);
}

milliseconds remaining(Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) return milliseconds(0);  // no limit
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  return std::max(left, milliseconds(1));
}

bool not_now(std::string_view error) {
  return error.starts_with("TRYAGAIN") || error.starts_with("CLUSTERDOWN");
}

}  // namespace

SlotMap parse_cluster_shards(const Reply& reply, const std::string& asked_host, bool tls) {
  if (!reply.is_array()) throw ProtocolError("CLUSTER SHARDS: not an array: " + reply.debug_string());
  SlotMap map;
  for (const Reply& shard : reply.elements()) {
    const Reply* slots = field(shard, "slots");
    const Reply* nodes = field(shard, "nodes");
    if (slots == nullptr || nodes == nullptr || !slots->is_array() || !nodes->is_array() || slots->size() % 2 != 0) {
      throw ProtocolError("CLUSTER SHARDS: a shard without slots or nodes: " + shard.debug_string());
    }
    std::optional<int> primary;
    for (const Reply& n : nodes->elements()) {
      const Reply* role = field(n, "role");
      if (role == nullptr || role->str() != "master") continue;
      ClusterNode node;
      const Reply* endpoint = field(n, "endpoint");
      const Reply* ip = field(n, "ip");
      // The endpoint; "" means the node asked, "?" an endpoint the node does not know (then its ip).
      const std::string_view e = endpoint != nullptr ? endpoint->str() : std::string_view("?");
      node.host = std::string(e == "?" && ip != nullptr && !ip->str().empty() ? ip->str()
                              : e.empty() || e == "?"                       ? std::string_view(asked_host)
                                                                            : e);
      const Reply* port = tls && field(n, "tls-port") != nullptr ? field(n, "tls-port") : field(n, "port");
      if (port == nullptr) throw ProtocolError("CLUSTER SHARDS: a node without its port: " + n.debug_string());
      const long long p = port->as_integer();
      if (p <= 0 || p > 65535) throw ProtocolError("CLUSTER SHARDS: a node's port out of range");
      node.port = static_cast<std::uint16_t>(p);
      node.primary = true;
      primary = node_index(map, std::move(node));
    }
    if (!primary) continue;  // a shard without a primary: its slots stay unserved
    for (std::size_t i = 0; i < slots->size(); i += 2) assign(map, (*slots)[i].as_integer(), (*slots)[i + 1].as_integer(), *primary);
  }
  return map;
}

SlotMap parse_cluster_slots(const Reply& reply, const std::string& asked_host) {
  if (!reply.is_array()) throw ProtocolError("CLUSTER SLOTS: not an array: " + reply.debug_string());
  SlotMap map;
  for (const Reply& range : reply.elements()) {
    if (!range.is_array() || range.size() < 3 || !range[2].is_array() || range[2].size() < 2) {
      throw ProtocolError("CLUSTER SLOTS: a range of another shape: " + range.debug_string());
    }
    ClusterNode node;
    node.host = range[2][0].str().empty() ? asked_host : std::string(range[2][0].str());
    const long long p = range[2][1].as_integer();
    if (p <= 0 || p > 65535) throw ProtocolError("CLUSTER SLOTS: a node's port out of range");
    node.port = static_cast<std::uint16_t>(p);
    node.primary = true;
    assign(map, range[0].as_integer(), range[1].as_integer(), node_index(map, std::move(node)));
  }
  return map;
}

// A node whose oldest command has waited this long for its reply counts as
// hung for a caller that asked for unsent_fails (and for key_unreachable): a
// process stopped, or a network cut, keeps the connection open, and nothing
// else tells. Every call of ours to a node is a short one (the blocking
// reads have clients of their own), so a healthy node answers far sooner.
constexpr milliseconds kHungAfter{1000};

struct ClusterRouter::Node {
  std::string host;
  std::uint16_t port = 0;
  std::unique_ptr<Client> client;
  [[nodiscard]] std::string address() const { return host + ":" + std::to_string(port); }
  // Its connection lost, and a reconnect failed since.
  [[nodiscard]] bool down() const { return !client->connected() && !client->last_error().empty(); }
  [[nodiscard]] bool hung() const { return client->oldest_wait() >= kHungAfter; }
};

// The commands of one exec bound for one node.
struct ClusterRouter::Group {
  Node* node = nullptr;
  Pipeline pipeline;
  // For each command of `pipeline`: the index in the caller's pipeline, or
  // kAsking for an ASKING whose reply is dropped.
  std::vector<std::size_t> origin;
  static constexpr std::size_t kAsking = static_cast<std::size_t>(-1);
};

ClusterRouter::ClusterRouter(asio::any_io_executor executor, Config config)
    : ex_(std::move(executor)), config_(std::move(config)), map_read_done_(ex_) {
  map_read_done_.expires_at(Clock::time_point::max());
}

ClusterRouter::~ClusterRouter() { close(); }

ClusterRouter::Node& ClusterRouter::node(const std::string& host, std::uint16_t port) {
  for (auto& n : nodes_) {
    if (n->host == host && n->port == port) return *n;
  }
  auto n = std::make_unique<Node>();
  n->host = host;
  n->port = port;
  Config c = config_;
  c.cluster_nodes.clear();
  c.host = host;
  c.port = port;
  c.db = 0;
  // Not started: a node's connection opens with its first command, so a
  // client that only ever talks to some nodes connects to those only.
  n->client = std::make_unique<Client>(ex_, std::move(c));
  nodes_.push_back(std::move(n));
  return *nodes_.back();
}

void ClusterRouter::start() {
  if (closed_ || have_map_ || reading_map_) return;
  asio::co_spawn(ex_, [self = shared_from_this()]() -> asio::awaitable<void> {
    try {
      co_await self->read_map(Clock::now() + std::max(self->config_.connect_timeout, milliseconds(1000)));
    } catch (const std::exception&) {
      // kept in last_error_; the first command reads the map again
    }
  }, asio::detached);
}

asio::awaitable<void> ClusterRouter::read_map(Clock::time_point deadline) {
  auto self = shared_from_this();
  if (reading_map_) {
    co_await map_read_done_.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return;
  }
  reading_map_ = true;
  // Nodes with a live connection first (a dead primary's client would hold
  // the question until its connect timeout), then the rest of the map, the
  // seeds and every node seen.
  std::vector<std::pair<std::string, std::uint16_t>> asked;
  for (const auto& n : nodes_) {
    if (n->client->connected()) asked.emplace_back(n->host, n->port);
  }
  for (Node* p : primaries_) asked.emplace_back(p->host, p->port);
  for (const auto& seed : config_.cluster_nodes) asked.emplace_back(seed.host, seed.port);
  for (const auto& n : nodes_) asked.emplace_back(n->host, n->port);
  std::vector<std::pair<std::string, std::uint16_t>> tried;
  std::string errors;
  bool done = false;
  for (const auto& [host, port] : asked) {
    if (closed_ || done) break;
    if (std::find(tried.begin(), tried.end(), std::make_pair(host, port)) != tried.end()) continue;
    tried.emplace_back(host, port);
    Node& n = node(host, port);
    // Each candidate gets a share of the time, so one that hangs does not use it all.
    const milliseconds budget = std::min(config_.connect_timeout.count() > 0 ? config_.connect_timeout : milliseconds(2000),
                                         remaining(deadline));
    try {
      Pipeline shards;
      shards.add("CLUSTER", "SHARDS");
      Reply reply = std::move((co_await n.client->exec(std::move(shards), {budget}))[0]);
      SlotMap map;
      if (reply.is_error()) {
        // Before Redis 7 (or where it is renamed): CLUSTER SLOTS.
        Pipeline slots;
        slots.add("CLUSTER", "SLOTS");
        reply = std::move((co_await n.client->exec(std::move(slots), {budget}))[0]);
        if (reply.is_error()) throw ServerError(std::string(reply.str()));
        map = parse_cluster_slots(reply, host);
      } else {
        map = parse_cluster_shards(reply, host, config_.scheme == Config::Scheme::tls);
      }
      apply(map);
      done = true;
    } catch (const std::exception& e) {
      errors += (errors.empty() ? "" : "; ") + n.address() + ": " + e.what();
    }
    if (Clock::now() >= deadline) break;
  }
  reading_map_ = false;
  last_map_read_ = Clock::now();
  map_read_done_.cancel();
  map_read_done_.expires_at(Clock::time_point::max());
  if (!done) {
    last_error_ = "no node of " + config_.redacted_url() + " answered with the slot map" +
                  (errors.empty() ? std::string() : ": " + errors);
    throw IoError(last_error_);
  }
}

void ClusterRouter::apply(const SlotMap& map) {
  std::vector<Node*> index;
  for (const ClusterNode& n : map.nodes) index.push_back(&node(n.host, n.port));
  for (std::size_t s = 0; s < owner_.size(); ++s) owner_[s] = map.owner[s] < 0 ? nullptr : index[static_cast<std::size_t>(map.owner[s])];
  primaries_.clear();
  for (Node* n : index) {
    if (std::find(owner_.begin(), owner_.end(), n) != owner_.end()) primaries_.push_back(n);
  }
  std::sort(primaries_.begin(), primaries_.end(), [](const Node* a, const Node* b) { return a->address() < b->address(); });
  have_map_ = true;
  ++cluster_stats_.map_reads;
  last_error_.clear();
}

asio::awaitable<void> ClusterRouter::ensure_map(Clock::time_point deadline) {
  if (closed_) throw ClosedError("Redis client closed");
  if (!have_map_) co_await read_map(deadline);
  if (!have_map_) throw IoError(last_error_.empty() ? "no slot map of " + config_.redacted_url() : last_error_);
}

void ClusterRouter::read_map_soon() {
  if (closed_ || reading_map_ || Clock::now() - last_map_read_ < kMapReadInterval) return;
  asio::co_spawn(ex_, [self = shared_from_this()]() -> asio::awaitable<void> {
    try {
      co_await self->read_map(Clock::now() + std::max(self->config_.connect_timeout, milliseconds(1000)));
    } catch (const std::exception&) {
    }
  }, asio::detached);
}

ClusterRouter::Node* ClusterRouter::owner(int slot) noexcept { return owner_[static_cast<std::size_t>(slot)]; }

ClusterRouter::Node* ClusterRouter::any_primary() noexcept {
  // A connected one if there is one: a keyless command need not wait for a
  // primary that is failing over.
  for (Node* p : primaries_) {
    if (p->client->connected()) return p;
  }
  return primaries_.empty() ? nullptr : primaries_.front();
}

asio::awaitable<std::vector<ClusterRouter::GroupResult>> ClusterRouter::run_groups(std::vector<Group>& groups,
                                                                                   CommandOptions options) {
  std::vector<GroupResult> out(groups.size());
  if (groups.size() == 1) {  // the common case: no parallel group needed
    try {
      out[0].replies = co_await groups[0].node->client->exec(groups[0].pipeline, options);
    } catch (...) {
      out[0].error = std::current_exception();
    }
    co_return out;
  }
  using Op = decltype(asio::co_spawn(ex_, std::declval<asio::awaitable<std::vector<Reply>>>(), asio::deferred));
  std::vector<Op> ops;
  ops.reserve(groups.size());
  for (Group& g : groups) ops.push_back(asio::co_spawn(ex_, g.node->client->exec(g.pipeline, options), asio::deferred));
  auto [order, errors, values] = co_await asio::experimental::make_parallel_group(std::move(ops))
                                     .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  (void)order;
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = GroupResult{std::move(values[i]), errors[i]};
  co_return out;
}

asio::awaitable<std::vector<Reply>> ClusterRouter::exec(const Pipeline& pipeline, CommandOptions options) {
  auto self = shared_from_this();
  const milliseconds timeout = options.timeout.count() < 0 ? config_.command_timeout : options.timeout;
  const Clock::time_point deadline = timeout.count() == 0 ? Clock::time_point::max() : Clock::now() + timeout;
  co_await ensure_map(deadline);

  const std::size_t n = pipeline.size();
  // Each command's slot (-1: keyless), whether it is a WAIT, and where an ASK sent it.
  std::vector<int> slot(n, -1);
  std::vector<bool> is_wait(n, false);
  std::vector<Node*> asked(n, nullptr);
  std::vector<int> redirects(n, 0);
  int first_slot = -1;
  for (std::size_t i = 0; i < n; ++i) {
    const Route route = route_of(pipeline.command_bytes(i));
    slot[i] = route.slot;
    is_wait[i] = route.wait;
    if (first_slot < 0) first_slot = slot[i];
  }

  std::vector<Reply> replies(n);
  std::vector<std::size_t> pending(n);
  for (std::size_t i = 0; i < n; ++i) pending[i] = i;
  milliseconds backoff{20};
  for (bool first_round = true; !pending.empty(); first_round = false) {
    std::vector<Group> groups;
    std::vector<std::size_t> again;  // to send in the next round
    bool pause = false;              // a TRYAGAIN, CLUSTERDOWN or unserved slot: give the cluster a moment
    std::string unreachable;         // a primary held back from, and why (its client's last error)
    const auto group_of = [&groups](Node* node) -> Group& {
      for (Group& g : groups) {
        if (g.node == node) return g;
      }
      groups.push_back(Group{node, {}, {}});
      return groups.back();
    };
    const auto retry = [&](std::size_t i, const char* why) {
      if (redirects[i] >= kMaxRedirects) {
        if (replies[i].is_nil()) replies[i] = Reply::make_error(why);
        return;
      }
      ++redirects[i];
      again.push_back(i);
    };
    for (std::size_t i : pending) {
      if (is_wait[i]) {
        // To every node an earlier command went to in this round (a later
        // round sends it again after the commands it resends: below).
        if (!first_round) continue;
        if (groups.empty()) {
          Node* target = first_slot >= 0 && owner(first_slot) != nullptr ? owner(first_slot) : any_primary();
          if (target == nullptr) throw IoError("no primary in the slot map of " + config_.redacted_url());
          group_of(target);
        }
        for (Group& g : groups) g.origin.push_back(i);
        continue;
      }
      Node* target = asked[i];
      if (target == nullptr) {
        const int s = slot[i] >= 0 ? slot[i] : first_slot;
        target = s >= 0 ? owner(s) : any_primary();
      }
      if (target == nullptr) {  // no primary serves the slot (a failover under way): as CLUSTERDOWN
        if (first_round && options.unsent_fails) {
          read_map_soon();
          throw NotSentError("not sent: no primary serves slot " + std::to_string(slot[i] >= 0 ? slot[i] : first_slot) +
                             " in the client's slot map");
        }
        retry(i, "CLUSTERDOWN Hash slot not served (no primary in the client's slot map)");
        pause = true;
        read_map_soon();
        continue;
      }
      if (first_round && options.unsent_fails && !target->down() && target->hung()) {
        // (A hung primary may be failed over too: the map is read again.)
        read_map_soon();
        throw NotSentError("not sent: " + target->address() + " has not answered for " +
                           std::to_string(target->client->oldest_wait().count()) + " ms");
      }
      if (target->down()) {
        // A primary that cannot be reached may be failing over. Its client
        // would hold the command until it reconnects or the deadline passes,
        // even after a replica took its slots over: instead nothing is written
        // to it, and the command waits here, as for an unserved slot, for a
        // fresh map that names another node or for the connection to return.
        // A caller that asked for unsent_fails hears at once instead (nothing
        // was sent: this is the first round), and can go on with other work.
        if (first_round && options.unsent_fails) {
          read_map_soon();
          throw NotSentError("not sent: " + target->address() + " is unreachable: " + target->client->last_error());
        }
        unreachable = target->address() + ": " + target->client->last_error();
        again.push_back(i);  // not a redirect: bounded by the deadline alone
        pause = true;
        read_map_soon();
        continue;
      }
      Group& g = group_of(target);
      if (asked[i] != nullptr) g.origin.push_back(Group::kAsking);
      g.origin.push_back(i);
    }
    if (!first_round) {
      // Commands sent again (redirected) are waited for where they went now:
      // each WAIT after them goes to their node too, and the smallest count
      // of all its answers is the answer.
      for (std::size_t w = 0; w < n; ++w) {
        if (!is_wait[w]) continue;
        for (Group& g : groups) {
          const bool earlier = std::any_of(g.origin.begin(), g.origin.end(),
                                           [w](std::size_t i) { return i != Group::kAsking && i < w; });
          if (earlier) g.origin.push_back(w);
        }
      }
    }
    // The common case, the whole pipeline for one node in its order, goes as
    // it is; otherwise each node's part is copied out.
    const bool whole = first_round && groups.size() == 1 && groups[0].origin.size() == n;
    if (!whole) {
      for (Group& g : groups) {
        for (const std::size_t i : g.origin) {
          if (i == Group::kAsking) {
            g.pipeline.add("ASKING");
          } else {
            g.pipeline.add_copy(pipeline, i);
          }
        }
      }
    }

    // unsent_fails: a node's commands that its connection never wrote come
    // back at once (NotSentError) instead of waiting for it to reconnect.
    const CommandOptions sent_options{remaining(deadline), true};
    std::vector<GroupResult> results(groups.size());
    if (whole) {
      try {
        results[0].replies = co_await groups[0].node->client->exec(pipeline, sent_options);
      } catch (...) {
        results[0].error = std::current_exception();
      }
    } else if (!groups.empty()) {
      results = co_await run_groups(groups, sent_options);
    }
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (!results[g].error) continue;
      try {
        std::rethrow_exception(results[g].error);
      } catch (const NotSentError& e) {
        // Nothing of this node's part ran: send it again where the map says
        // (an unreachable primary is waited out above), its WAITs re-added below.
        // A caller that asked for unsent_fails hears it, if nothing else was
        // sent (the whole pipeline was this one node's, in the first round).
        if (first_round && options.unsent_fails && groups.size() == 1) {
          read_map_soon();
          throw;
        }
        for (const std::size_t i : groups[g].origin) {
          if (i != Group::kAsking && !is_wait[i]) again.push_back(i);
        }
        unreachable = groups[g].node->address() + ": " + e.what();
        pause = true;
        read_map_soon();
      } catch (const IoError&) {
        read_map_soon();  // a node may have failed over; the next commands go by a fresh map
        throw;
      }
    }
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (results[g].error) continue;
      for (std::size_t k = 0; k < groups[g].origin.size(); ++k) {
        const std::size_t i = groups[g].origin[k];
        if (i == Group::kAsking) continue;
        Reply& r = results[g].replies[k];
        if (is_wait[i]) {
          // The smallest count over the nodes written to; an error wins.
          if (!replies[i].is_error() &&
              (replies[i].is_nil() || r.is_error() ||
               (r.is_integer() && replies[i].is_integer() && r.as_integer() < replies[i].as_integer()))) {
            replies[i] = std::move(r);
          }
          continue;
        }
        asked[i] = nullptr;
        if (r.is_error() && redirects[i] < kMaxRedirects) {
          if (const auto redirect = parse_redirect(r.str())) {
            const std::string host = redirect->host.empty() ? groups[g].node->host : std::string(redirect->host);
            Node& to = node(host, redirect->port);
            if (redirect->ask) {
              asked[i] = &to;
              ++cluster_stats_.ask;
            } else {
              owner_[static_cast<std::size_t>(redirect->slot)] = &to;
              ++cluster_stats_.moved;
              read_map_soon();
            }
            retry(i, "");
            continue;
          }
          if (not_now(r.str())) {
            ++cluster_stats_.retried;
            replies[i] = r;  // the answer if the cluster does not settle in time
            if (r.str().starts_with("CLUSTERDOWN")) read_map_soon();
            pause = true;
            retry(i, "");
            continue;
          }
        }
        replies[i] = std::move(r);
      }
    }
    std::sort(again.begin(), again.end());  // commands of one slot keep their order
    pending = std::move(again);
    if (pending.empty() || !pause) continue;
    if (deadline != Clock::time_point::max() && Clock::now() + backoff >= deadline) {
      // As from a client that never connected: the commands were not sent.
      if (!unreachable.empty()) throw TimeoutError("Redis command timed out (not connected: " + unreachable + ")");
      for (std::size_t i : pending) {
        if (replies[i].is_nil()) replies[i] = Reply::make_error("TRYAGAIN the cluster did not settle within the command's timeout");
      }
      break;
    }
    asio::steady_timer timer(ex_);
    timer.expires_after(backoff);
    co_await timer.async_wait(asio::use_awaitable);
    // Waiting out an unreachable primary, the map is read again each round
    // (read_map_soon, at most every 100 ms): short rounds find its promoted
    // replica within about 200 ms of the promotion.
    backoff = std::min(backoff * 2, unreachable.empty() ? milliseconds(500) : milliseconds(100));
  }
  co_return replies;
}

asio::awaitable<std::vector<std::vector<Reply>>> ClusterRouter::exec_on_primaries(const Pipeline& pipeline,
                                                                                    CommandOptions options) {
  auto self = shared_from_this();
  const milliseconds timeout = options.timeout.count() < 0 ? config_.command_timeout : options.timeout;
  const Clock::time_point deadline = timeout.count() == 0 ? Clock::time_point::max() : Clock::now() + timeout;
  co_await ensure_map(deadline);
  std::vector<Group> groups;
  for (Node* p : primaries_) groups.push_back(Group{p, pipeline, {}});
  std::vector<GroupResult> results = co_await run_groups(groups, {remaining(deadline)});
  std::vector<std::vector<Reply>> out;
  for (GroupResult& r : results) {
    if (r.error) std::rethrow_exception(r.error);
    out.push_back(std::move(r.replies));
  }
  co_return out;
}

asio::awaitable<std::vector<std::string>> ClusterRouter::scan_keys(std::string pattern) {
  auto self = shared_from_this();
  co_await ensure_map(Clock::now() + std::max(config_.command_timeout, milliseconds(1000)));
  const std::vector<Node*> primaries = primaries_;
  std::vector<std::string> keys;
  for (Node* p : primaries) {
    for (std::string& k : co_await p->client->scan_keys(pattern)) keys.push_back(std::move(k));
  }
  co_return keys;
}

void ClusterRouter::close() {
  if (closed_) return;
  closed_ = true;
  map_read_done_.cancel();
  for (auto& n : nodes_) n->client->close();
}

bool ClusterRouter::connected() const noexcept {
  if (!have_map_ || primaries_.empty()) return false;
  for (const Node* p : primaries_) {
    if (!p->client->connected()) return false;
  }
  return true;
}

bool ClusterRouter::reachable() const noexcept {
  if (!have_map_) return false;
  return std::any_of(primaries_.begin(), primaries_.end(), [](const Node* p) { return p->client->connected(); });
}

bool ClusterRouter::slot_unreachable(int slot) const noexcept {
  if (!have_map_) return false;
  const Node* p = owner_[static_cast<std::size_t>(slot)];
  return p == nullptr || p->down() || p->hung();
}

std::string ClusterRouter::slot_primary(int slot) const {
  if (!have_map_) return {};
  const Node* p = owner_[static_cast<std::size_t>(slot)];
  return p == nullptr ? std::string() : p->address();
}

std::string ClusterRouter::last_error() const {
  if (!last_error_.empty()) return last_error_;
  for (const Node* p : primaries_) {
    std::string e = p->client->last_error();
    if (!e.empty() && !p->client->connected()) return p->address() + ": " + e;
  }
  return {};
}

ClientStats ClusterRouter::stats() const noexcept {
  ClientStats sum;
  for (const auto& n : nodes_) {
    const ClientStats s = n->client->stats();
    sum.commands += s.commands;
    sum.writes += s.writes;
    sum.connects += s.connects;
    sum.timeouts += s.timeouts;
    sum.switches += s.switches;
  }
  return sum;
}

std::vector<std::string> ClusterRouter::primaries() const {
  std::vector<std::string> out;
  for (const Node* p : primaries_) out.push_back(p->address());
  return out;
}

asio::awaitable<void> ClusterRouter::wait_connected(milliseconds timeout) {
  auto self = shared_from_this();
  if (timeout.count() == 0) timeout = config_.connect_timeout;
  const Clock::time_point deadline = timeout.count() == 0 ? Clock::time_point::max() : Clock::now() + timeout;
  co_await ensure_map(deadline);
  for (;;) {
    // Every primary of the current map; one that cannot be reached may have
    // failed over, so the map is read again and the primaries asked again.
    std::string failed;
    const std::vector<Node*> primaries = primaries_;
    for (Node* p : primaries) {
      try {
        co_await p->client->wait_connected(std::min(remaining(deadline), milliseconds(1000)));
      } catch (const IoError& e) {
        failed = p->address() + ": " + e.what();
        break;
      }
    }
    if (failed.empty()) co_return;
    if (Clock::now() >= deadline) {
      throw IoError("cannot connect to every primary of " + config_.redacted_url() + " (" + failed + ")");
    }
    try {
      co_await read_map(deadline);
    } catch (const IoError&) {
      // kept in last_error_; asked again until the deadline
    }
    asio::steady_timer pause(ex_);
    pause.expires_after(milliseconds(50));
    co_await pause.async_wait(asio::use_awaitable);
  }
}

}  // namespace steadfast::redis
