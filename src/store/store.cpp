#include "store/store.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "engine/waiting_for.h"
#include "redis/checked.h"
#include "store/limiter.h"
#include "store/run_id.h"
#include "store/scripts.h"
#include "store/submit_many.h"

namespace steadfast::store {

namespace {

// The shortest text that reads back as v (a progress fraction).
std::string json_number(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

using redis::Pipeline;
using redis::Reply;

using redis::checked;

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()); }

// A reply holding a decimal integer (a hash field read with HGET), else 0.
std::int64_t integer_of(const Reply& r) {
  if (r.is_integer()) return r.as_integer();
  const std::string s(r.str());
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  return end && *end == '\0' ? v : 0;
}

enum class ScriptKind { complete, retry, dead_letter, drop, sleep, spawn, none };

ScriptKind kind_of(engine::Action a) {
  switch (a) {
    case engine::Action::advance:
    case engine::Action::complete_run: return ScriptKind::complete;
    case engine::Action::retry_later:
    case engine::Action::release: return ScriptKind::retry;
    case engine::Action::dead_letter: return ScriptKind::dead_letter;
    case engine::Action::cancel_run:
    case engine::Action::discard: return ScriptKind::drop;
    case engine::Action::sleep: return ScriptKind::sleep;
    case engine::Action::execute:
    case engine::Action::abandon: return ScriptKind::none;
  }
  return ScriptKind::none;
}

}  // namespace

Store::Store(redis::Client& client, KeySpace keys, std::string consumer)
    : client_(client), keys_(std::move(keys)), consumer_(std::move(consumer)) {}

void Store::set_replica_wait(ReplicaWait wait) {
  if (wait.replicas < 0) throw std::invalid_argument("wait for replicas: the count must be 0 or more");
  if (wait.replicas > 0 && wait.timeout < std::chrono::milliseconds(1)) {
    throw std::invalid_argument("wait for replicas: the timeout must be at least 1 ms");
  }
  replica_wait_ = wait;
}

asio::awaitable<SubmitResult> Store::submit(const SubmitRequest& req) {
  std::vector<SubmitOutcome> out;
  try {
    out = co_await submit_many(*this, std::span<const SubmitRequest>(&req, 1));
  } catch (const NotReplicated& e) {
    // A refusal wrote nothing: it is answered as such, whatever the replicas said.
    const SubmitOutcome::State state = e.outcomes().at(0).state;
    if (state == SubmitOutcome::State::created || state == SubmitOutcome::State::repeated) throw;
    out = e.outcomes();
  }
  const SubmitOutcome& o = out.at(0);
  switch (o.state) {
    case SubmitOutcome::State::created: co_return SubmitResult{o.run_id, true, o.run_at_ms};
    case SubmitOutcome::State::repeated: co_return SubmitResult{o.run_id, false, 0};
    case SubmitOutcome::State::conflict: throw IdempotencyConflict(o.run_id);
    case SubmitOutcome::State::backlog_full: throw BacklogFull(o.detail);
    case SubmitOutcome::State::run_at_out_of_range: throw RunAtOutOfRange(o.detail);
  }
  throw std::logic_error("submit: unknown outcome");
}

asio::awaitable<std::optional<RunInfo>> Store::get_run(std::string_view run_id) {
  Reply r = co_await client_.command("HGETALL", keys_.run(run_id));
  if (r.size() == 0) co_return std::nullopt;
  Fields f = to_fields(r);
  RunInfo run = to_run_info(run_id, f);
  // A queued step on a paused queue waits for the queue (read here: the
  // pause is the queue's, not written into every run).
  bool paused = false;
  if (run.status == "queued" && !f["queue"].empty()) {
    const Reply member = co_await client_.command("SISMEMBER", keys_.paused_queues(), f["queue"]);
    paused = member.as_integer() == 1;
  }
  if (paused) {
    engine::WaitingFor w;
    w.kind = engine::WaitKind::queue_paused;
    w.queue = f["queue"];
    const Json wait = engine::waiting_for_json(w);
    for (StepInfo& s : run.steps) {
      if (s.status == "queued" && s.waiting_for.is_null()) s.waiting_for = wait;
    }
    if (run.waiting_for.is_null()) run.waiting_for = wait;
  }
  co_return run;
}

asio::awaitable<std::optional<MapItemsPage>> Store::map_items(std::string_view run_id, const std::string& step,
                                                              std::int64_t offset, std::int64_t limit) {
  const std::string run = keys_.run(run_id);
  const std::string p = "s." + step + ".";
  const Reply head = co_await client_.command("HMGET", run, "status", p + "n", p + "next", p + "status");
  if (head[0].is_nil()) co_return std::nullopt;
  if (head[1].is_nil()) {
    throw std::invalid_argument("step '" + step + "' of run " + std::string(run_id) +
                                " is no map step whose list is known (not a map step, or not started)");
  }
  MapItemsPage page;
  page.total = std::atoll(std::string(head[1].str()).c_str());
  page.offset = offset;
  const std::int64_t started = std::atoll(std::string(head[2].str()).c_str());
  const std::int64_t end = std::min(page.total, offset + std::min(limit, kMaxItemsPage));
  if (offset >= end) co_return page;
  // Once the step completed, its items' outputs live in its own output.
  Json outputs;
  if (!head[3].is_nil() && head[3].str() == "completed") {
    const Reply o = co_await client_.command("HGET", run, p + "output");
    if (!o.is_nil()) outputs = Json::parse(o.str(), nullptr, false);
  }
  std::vector<std::string> args{"HMGET", run};
  for (std::int64_t k = offset; k < end; ++k) {
    const std::string q = "s." + step + "[" + std::to_string(k) + "].";
    for (const char* f : {"status", "attempts", "output", "error", "child"}) args.push_back(q + f);
  }
  redis::Pipeline hmget;
  hmget.add_argv(std::span<const std::string>(args));
  const Reply r = co_await client_.exec_one(std::move(hmget));
  for (std::int64_t k = offset; k < end; ++k) {
    const std::size_t at = static_cast<std::size_t>(k - offset) * 5;
    MapItemInfo item;
    item.index = k;
    if (k < started && !r[at].is_nil()) item.status = std::string(r[at].str());
    if (!r[at + 1].is_nil()) item.attempts = std::atoi(std::string(r[at + 1].str()).c_str());
    if (!r[at + 2].is_nil()) {
      item.output = Json::parse(r[at + 2].str(), nullptr, false);
    } else if (outputs.is_array() && static_cast<std::size_t>(k) < outputs.size()) {
      item.output = outputs[static_cast<std::size_t>(k)];
    }
    if (item.status != "completed" && !r[at + 3].is_nil()) item.error = std::string(r[at + 3].str());
    if (!r[at + 4].is_nil()) item.child = std::string(r[at + 4].str());
    page.items.push_back(std::move(item));
  }
  co_return page;
}

asio::awaitable<std::string> Store::cancel(std::string_view run_id,
                                           std::chrono::milliseconds retention) {
  const int p = keys_.partition_of(run_id);
  for (int tries = 0; tries < 5; ++tries) {
    Reply q = co_await client_.command("HGET", keys_.run(run_id), "queue");
    if (q.is_nil()) co_return "missing";
    const std::string queue(q.str());
    std::vector<std::string> keys{keys_.run(run_id), keys_.queue(p, queue), keys_.timers(p),
                                  keys_.legacy_delayed(p), keys_.index_status(p, "live"),
                                  keys_.index_status(p, "cancelled"), keys_.retention(p)};
    std::vector<std::string> args{std::string(run_id), std::string(kGroup), queue, ms(retention)};
    Reply r = co_await client_.eval(scripts::cancel(), keys, args);
    if (r.str() == "moved") continue;
    const std::string result(r.str());
    if (result == "cancelled" || result == "cancelling") {
      for (const std::string& child : co_await children_of(run_id)) (void)co_await cancel(child, retention);
    }
    co_return result;
  }
  co_return "cancelling";
}

asio::awaitable<std::vector<DeadLetter>> Store::dlq_list(std::size_t limit) {
  std::vector<DeadLetter> out;
  for (int p = 0; p < keys_.partitions() && out.size() < limit; ++p) {
    Reply r = co_await client_.command("XRANGE", keys_.dlq(p), "-", "+", "COUNT",
                                       static_cast<long long>(limit - out.size()));
    for (const Reply& e : r.elements()) {
      Fields f = to_fields(e[1]);
      DeadLetter d;
      d.id = std::string(e[0].str());
      d.run_id = f["run"];
      d.workflow = f["workflow"];
      d.step = f["step"];
      d.attempts = std::atoi(f["attempts"].c_str());
      d.error = f["error"];
      d.errors = Json::parse(f["errors"], nullptr, false);
      if (d.errors.is_discarded()) d.errors = Json::array();
      d.at_ms = std::atoll(f["at"].c_str());
      out.push_back(std::move(d));
    }
  }
  co_return out;
}

asio::awaitable<std::string> Store::dlq_replay(std::string_view id) {
  std::string run_id;
  std::string entry;
  int partition = -1;
  if (is_valid_run_id(id)) {
    run_id = std::string(id);
    partition = keys_.partition_of(run_id);
    Reply e = co_await client_.command("HGET", keys_.run(run_id), "dlq_entry");
    if (e.is_nil() || e.str().empty()) {
      throw std::invalid_argument("run " + run_id + " is not in the dead-letter queue");
    }
    entry = std::string(e.str());
  } else {
    for (int p = 0; p < keys_.partitions() && partition < 0; ++p) {
      Reply r = co_await client_.command("XRANGE", keys_.dlq(p), id, id);
      if (r.size() == 1) {
        partition = p;
        entry = std::string(id);
        run_id = to_fields(r[0][1])["run"];
      }
    }
    if (partition < 0) throw std::invalid_argument("no dead-letter entry '" + std::string(id) + "'");
    if (run_id.empty()) {
      throw std::invalid_argument("dead-letter entry " + std::string(id) +
                                  " lost its payload (no run to replay); purge it");
    }
  }
  for (const std::string& child : co_await children_of(run_id)) {
    Reply st = co_await client_.command("HGET", keys_.run(child), "status");
    if (st.is_nil() || st.str() != "failed") continue;
    try {
      (void)co_await dlq_replay(child);
    } catch (const std::invalid_argument&) {
      // purged from the dead-letter queue: the parent's step fails again, naming it
    }
  }
  Reply q = co_await client_.command("HGET", keys_.run(run_id), "queue");
  if (q.is_nil()) throw std::invalid_argument("run " + run_id + " no longer exists");
  std::vector<std::string> keys{keys_.dlq(partition), keys_.run(run_id), keys_.queue(partition, q.str()),
                                keys_.index_status(partition, "failed"), keys_.index_status(partition, "live")};
  std::vector<std::string> args{entry, run_id, std::string(kGroup)};
  co_await client_.eval(scripts::replay(), keys, args);
  co_return run_id;
}

asio::awaitable<std::size_t> Store::dlq_purge(const engine::RunFilter& filter, std::size_t batch) {
  if (!filter.status.empty() && filter.status != "failed") {
    throw std::invalid_argument("dead-letter runs are all failed: a status filter of '" + filter.status +
                                "' matches none");
  }
  if (batch == 0) batch = 1;
  const auto bound = [](const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : std::string(); };
  std::size_t purged = 0;
  for (int p = 0; p < keys_.partitions(); ++p) {
    std::string from = "-";
    for (;;) {
      Reply r = co_await client_.command("XRANGE", keys_.dlq(p), from, "+", "COUNT",
                                         static_cast<long long>(batch));
      if (r.size() == 0) break;
      // The runs' index keys: workflow and metadata as read now (both never change).
      std::vector<std::string> runs;
      std::vector<std::size_t> read_at;  // runs[i]'s reply in `read`, or npos
      Pipeline reads;
      for (const Reply& e : r.elements()) {
        runs.push_back(to_fields(e[1])["run"]);
        read_at.push_back(runs.back().empty() ? std::string::npos : reads.size());
        if (!runs.back().empty()) reads.add("HMGET", keys_.run(runs.back()), "workflow", "metadata");
      }
      std::vector<Reply> read;
      if (!reads.empty()) read = co_await client_.exec(std::move(reads));
      std::vector<std::string> keys{keys_.dlq(p)};
      std::vector<std::string> args{filter.workflow, bound(filter.created_after_ms), bound(filter.created_before_ms),
                                    filter.meta.empty() ? std::string() : Json(filter.meta).dump()};
      for (std::size_t i = 0; i < runs.size(); ++i) {
        const std::string& run = runs[i];
        keys.push_back(run.empty() ? keys_.dlq(p) : keys_.run(run));
        std::vector<std::string> indexes;
        const Reply* f = read_at[i] == std::string::npos ? nullptr : &read[read_at[i]];
        if (f && f->is_array() && !(*f)[0].is_nil()) {
          const engine::RunMetadata meta = engine::stored_metadata((*f)[1].is_nil() ? "" : (*f)[1].str());
          indexes = run_index_keys(keys_, p, (*f)[0].str(), meta, "failed");
        }
        keys.insert(keys.end(), indexes.begin(), indexes.end());
        args.emplace_back(r[i][0].str());
        args.push_back(run);
        args.push_back(std::to_string(indexes.size()));
      }
      purged += static_cast<std::size_t>(checked(co_await client_.eval(scripts::purge(), keys, args)).as_integer());
      // Entries left (not matching, or changed meanwhile) stay behind the cursor.
      from = "(" + std::string(r[r.size() - 1][0].str());
    }
  }
  co_return purged;
}

asio::awaitable<void> Store::register_workflow(const std::string& name, const Json& definition) {
  Pipeline p;
  p.add("HSET", keys_.workflows(), name, definition.dump());
  if (definition.contains("steps")) {
    for (const Json& s : definition["steps"]) {
      if (s.contains("queue")) p.add("SADD", keys_.queues(), s["queue"].get<std::string>());
    }
  }
  for (const Reply& r : co_await client_.exec(std::move(p))) checked(r);
}

asio::awaitable<std::optional<Json>> Store::workflow_definition(const std::string& name) {
  Reply r = co_await client_.command("HGET", keys_.workflows(), name);
  if (r.is_nil()) co_return std::nullopt;
  co_return Json::parse(r.str());
}

asio::awaitable<void> Store::register_limiters(const std::vector<LimitSpec>& specs) {
  if (specs.empty()) co_return;
  std::vector<std::string> argv{"HSET", keys_.limiters()};
  for (const LimitSpec& l : specs) {
    argv.push_back(l.name);
    argv.push_back(Json{{"requests_per_minute", l.requests_per_minute},
                        {"burst", l.burst},
                        {"tokens_per_minute", l.tokens_per_minute},
                        {"token_burst", l.token_burst},
                        {"concurrency", l.concurrency},
                        {"max_pause_ms", l.max_pause.count()}}
                       .dump());
    if (!l.overrides.empty()) {
      Json bounds = Json::parse(argv.back());
      for (const auto& [key, o] : l.overrides) bounds["overrides"][key] = to_json(o);
      argv.back() = bounds.dump();
    }
  }
  Pipeline p;
  p.add_argv(argv);
  for (const Reply& r : co_await client_.exec(std::move(p))) checked(r);
}

namespace {

// The token level limit_acquire.lua would see now: the stored level (written
// with decimals, "%.3f"; below zero in debt; nil = a full bucket) refilled
// since `at` at `tpm` per minute, at most `burst`.
std::int64_t tokens_now(const Reply& level, const Reply& at, std::int64_t tpm, std::int64_t burst, std::int64_t now) {
  const double stored =
      level.is_nil() ? static_cast<double>(burst) : std::strtod(std::string(level.str()).c_str(), nullptr);
  const std::int64_t since = at.is_nil() ? now : integer_of(at);
  return static_cast<std::int64_t>(std::min(
      static_cast<double>(burst), stored + static_cast<double>(now - since) * static_cast<double>(tpm) / 60000.0));
}

// A member of a busiest-keys ZSET: "<the key's SHA-1>:<its value>".
struct BusyMember {
  std::string hash;
  std::string value;
};
std::optional<BusyMember> busy_member(std::string_view m) {
  if (m.size() < 41 || m[40] != ':') return std::nullopt;
  return BusyMember{std::string(m.substr(0, 40)), std::string(m.substr(41))};
}

}  // namespace

asio::awaitable<std::vector<Store::LimiterState>> Store::limiters() {
  Pipeline first;
  first.add("HGETALL", keys_.limiters());
  first.add("TIME");
  const std::vector<Reply> head = co_await client_.exec(std::move(first));
  const Reply& all = checked(head[0]);
  std::vector<LimiterState> out;
  if (all.size() == 0) co_return out;
  const std::int64_t now = integer_of(head[1][0]) * 1000 + integer_of(head[1][1]) / 1000;
  const std::int64_t now_minute = now / 60000;
  const std::size_t n = all.size() / 2;
  const std::string top = std::to_string(kBusiestLimiterKeys - 1);
  Pipeline p;
  for (std::size_t k = 0; k < n; ++k) {
    const std::string name(all[2 * k].str());
    const std::string base = keys_.limit(name);
    p.add("HMGET", base, "tokens", "tokens_at", "paused_until", "waits", "admitted", "recent_minute",
          "recent_admitted", "recent_waits", "previous_admitted", "previous_waits");
    p.add("ZRANGE", keys_.limit_holders(name), "0", "-1", "WITHSCORES");
    // limit_acquire.lua's ranks of this minute and the last (a keyed limiter only).
    p.add("ZREVRANGE", base + ":busy:" + std::to_string(now_minute), "0", top);
    p.add("ZREVRANGE", base + ":busy:" + std::to_string(now_minute - 1), "0", top);
  }
  const std::vector<Reply> r = co_await client_.exec(std::move(p));
  std::vector<std::vector<BusyMember>> candidates(n);
  for (std::size_t k = 0; k < n; ++k) {
    LimiterState l;
    l.name = std::string(all[2 * k].str());
    l.bounds = Json::parse(all[2 * k + 1].str(), nullptr, false);
    l.now_ms = now;
    const Reply& h = checked(r[4 * k]);
    const Reply& holders = checked(r[4 * k + 1]);
    const std::int64_t tpm = l.bounds.value("tokens_per_minute", std::int64_t{0});
    if (tpm > 0) {
      std::int64_t burst = l.bounds.value("token_burst", std::int64_t{0});
      if (burst <= 0) burst = std::max<std::int64_t>(1, tpm / 10);
      l.tokens = tokens_now(h[0], h[1], tpm, burst, now);
    }
    l.paused_until_ms = h[2].is_nil() ? 0 : integer_of(h[2]);
    const auto at = [&](std::size_t i) { return h[i].is_nil() ? std::int64_t{0} : integer_of(h[i]); };
    l.waits = at(3);
    l.admitted = at(4);
    l.minutes = {h[5].is_nil() ? -1 : at(5), at(6), at(7), at(8), at(9)};
    for (std::size_t i = 1; i < holders.size(); i += 2) {
      if (integer_of(holders[i]) > now) ++l.holders;
    }
    std::set<std::string> seen;
    for (std::size_t z : {std::size_t{2}, std::size_t{3}}) {
      for (const Reply& m : checked(r[4 * k + z]).elements()) {
        auto b = busy_member(m.str());
        if (b && seen.insert(b->hash).second) candidates[k].push_back(std::move(*b));
      }
    }
    out.push_back(std::move(l));
  }
  // The candidates' counts in both minutes and their buckets, in one more round trip.
  Pipeline q;
  for (std::size_t k = 0; k < n; ++k) {
    if (candidates[k].empty()) continue;
    const std::string base = keys_.limit(out[k].name);
    for (const std::int64_t minute : {now_minute, now_minute - 1}) {
      for (const char* zset : {":busy:", ":waited:"}) {
        std::vector<std::string> argv{"ZMSCORE", base + zset + std::to_string(minute)};
        for (const BusyMember& b : candidates[k]) argv.push_back(b.hash + ":" + b.value);
        q.add_argv(argv);
      }
    }
    for (const BusyMember& b : candidates[k]) q.add("HMGET", base + ":k:" + b.hash, "tokens", "tokens_at");
    std::vector<std::string> argv{"HMGET", keys_.limit_overrides(out[k].name)};
    for (const BusyMember& b : candidates[k]) argv.push_back(b.value);
    q.add_argv(argv);
  }
  if (q.empty()) co_return out;
  const std::vector<Reply> s = co_await client_.exec(std::move(q));
  std::size_t at = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const std::vector<BusyMember>& cands = candidates[k];
    if (cands.empty()) continue;
    LimiterState& l = out[k];
    const Reply& busy_now = checked(s[at]);
    const Reply& waited_now = checked(s[at + 1]);
    const Reply& busy_last = checked(s[at + 2]);
    const Reply& waited_last = checked(s[at + 3]);
    at += 4;
    const Reply& runtime = checked(s[at + cands.size()]);
    // A key's bucket: its runtime override, else the file's, else the declared bounds (as limit_acquire.lua).
    const auto bucket = [&](std::size_t i) {
      LimitSpec b;
      b.tokens_per_minute = l.bounds.value("tokens_per_minute", std::int64_t{0});
      b.token_burst = l.bounds.value("token_burst", std::int64_t{0});
      const std::string& value = cands[i].value;
      Json o;
      if (!runtime[i].is_nil()) o = Json::parse(runtime[i].str(), nullptr, false);
      if (!o.is_object() && l.bounds.contains("overrides") && l.bounds["overrides"].contains(value)) {
        o = l.bounds["overrides"][value];
      }
      if (o.is_object()) {
        try {
          const LimitOverride over = limit_override_from_json(o);
          if (over.tokens_per_minute || over.token_burst) {
            b = with_override(b, over);
            if (!over.token_burst) b.token_burst = 0;
          }
        } catch (const std::invalid_argument&) {
          // Written by hand, unreadable: the declared bounds hold (as in the scripts).
        }
      }
      return std::pair{b.tokens_per_minute,
                       b.token_burst > 0 ? b.token_burst : std::max<std::int64_t>(1, b.tokens_per_minute / 10)};
    };
    const auto score = [](const Reply& z, std::size_t i) {
      return z[i].is_nil() ? std::int64_t{0}
                           : static_cast<std::int64_t>(std::strtod(std::string(z[i].str()).c_str(), nullptr));
    };
    std::vector<std::pair<std::int64_t, LimiterState::BusyKey>> keys;
    for (std::size_t i = 0; i < cands.size(); ++i) {
      LimiterState::BusyKey b;
      b.key = cands[i].value;
      const std::int64_t asks_now = score(busy_now, i);
      const std::int64_t asks_last = score(busy_last, i);
      b.waits_this_minute = score(waited_now, i);
      b.admitted_this_minute = asks_now - b.waits_this_minute;
      b.waits_last_minute = score(waited_last, i);
      b.admitted_last_minute = asks_last - b.waits_last_minute;
      const Reply& h = checked(s[at + i]);
      const auto [tpm, burst] = bucket(i);
      if (tpm > 0) b.tokens = tokens_now(h[0], h[1], tpm, burst, now);
      keys.emplace_back(asks_now + asks_last, std::move(b));
    }
    at += cands.size() + 1;
    std::sort(keys.begin(), keys.end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first > y.first : x.second.key < y.second.key;  // ties by value: a stable order
    });
    if (keys.size() > kBusiestLimiterKeys) keys.resize(kBusiestLimiterKeys);
    for (auto& [asks, b] : keys) l.busiest_keys.push_back(std::move(b));
  }
  co_return out;
}

asio::awaitable<void> Store::audit(std::string who, std::string action, std::string target, Json detail) {
  checked(co_await client_.command("XADD", keys_.audit(), "MAXLEN", "~", kAuditEntries, "*", "who", who, "action",
                                   action, "target", target, "detail", detail.dump()));
}

asio::awaitable<std::vector<Store::AuditEntry>> Store::audit_log(std::size_t limit, std::string_view before) {
  const std::string upper = before.empty() ? std::string("+") : "(" + std::string(before);
  const Reply r = checked(co_await client_.command("XREVRANGE", keys_.audit(), upper, "-", "COUNT",
                                                   static_cast<long long>(limit)));
  std::vector<AuditEntry> out;
  for (const Reply& e : r.elements()) {
    Fields f = to_fields(e[1]);
    AuditEntry a;
    a.id = std::string(e[0].str());
    a.at_ms = std::atoll(a.id.substr(0, a.id.find('-')).c_str());
    a.who = f["who"];
    a.action = f["action"];
    a.target = f["target"];
    a.detail = Json::parse(f["detail"], nullptr, false);
    if (a.detail.is_discarded()) a.detail = nullptr;
    out.push_back(std::move(a));
  }
  co_return out;
}

asio::awaitable<std::vector<Json>> Store::workers() {
  const Reply all = checked(co_await client_.command("HGETALL", keys_.workers()));
  std::vector<Json> out;
  for (std::size_t i = 0; i + 1 < all.size(); i += 2) {
    Json w = Json::parse(all[i + 1].str(), nullptr, false);
    if (!w.is_object()) continue;
    w["id"] = std::string(all[i].str());
    out.push_back(std::move(w));
  }
  co_return out;
}

// (Replies are named before they are tested: GCC 12 miscompiles a co_await
// inside an if's condition.)
asio::awaitable<bool> Store::pause_queue(const std::string& queue) {
  const Reply known = co_await client_.command("SISMEMBER", keys_.queues(), queue);
  if (known.as_integer() == 0) co_return false;
  checked(co_await client_.command("SADD", keys_.paused_queues(), queue));
  co_return true;
}

asio::awaitable<bool> Store::resume_queue(const std::string& queue) {
  const Reply known = co_await client_.command("SISMEMBER", keys_.queues(), queue);
  if (known.as_integer() == 0) co_return false;
  checked(co_await client_.command("SREM", keys_.paused_queues(), queue));
  co_return true;
}

asio::awaitable<std::set<std::string>> Store::paused_queues() {
  std::set<std::string> out;
  const Reply members = checked(co_await client_.command("SMEMBERS", keys_.paused_queues()));
  for (const Reply& q : members.elements()) out.emplace(q.str());
  co_return out;
}

asio::awaitable<std::vector<std::string>> Store::known_queues() {
  Reply r = co_await client_.command("SMEMBERS", keys_.queues());
  std::vector<std::string> out;
  for (const Reply& q : r.elements()) out.emplace_back(q.str());
  co_return out;
}

asio::awaitable<std::vector<std::string>> Store::all_run_ids() {
  std::vector<std::string> ids;
  for (const std::string& key : co_await client_.scan_keys(keys_.prefix() + ":{*}:run:*")) {
    ids.emplace_back(key.substr(key.rfind(':') + 1));
  }
  co_return ids;
}

asio::awaitable<RunPage> Store::list_runs(const engine::RunFilter& filter, std::size_t limit,
                                          std::string_view cursor) {
  co_return co_await store::list_runs(client_, keys_, filter, limit, cursor);
}

asio::awaitable<RunTokens> Store::run_tokens(std::string_view run_id) {
  const int p = keys_.partition_of(run_id);
  Reply q = co_await client_.command("HGET", keys_.run(run_id), "queue");
  const std::string stream = keys_.queue(p, q.is_nil() ? "" : q.str());
  std::vector<std::string> keys{keys_.run(run_id), stream, keys_.timers(p), keys_.dlq(p),
                                keys_.legacy_delayed(p)};
  std::vector<std::string> args{std::string(run_id), std::string(kGroup)};
  Reply r = co_await client_.eval(scripts::check_run(), keys, args);
  co_return RunTokens{std::string(r[0].str()), static_cast<int>(r[1].as_integer()),
                      static_cast<int>(r[2].as_integer()), static_cast<int>(r[3].as_integer()),
                      static_cast<int>(r[4].as_integer()), static_cast<int>(r[5].as_integer())};
}

asio::awaitable<std::map<std::string, std::int64_t>> Store::counters() {
  std::map<std::string, std::int64_t> out;
  for (int p = 0; p < keys_.partitions(); ++p) {
    Reply r = co_await client_.command("HGETALL", keys_.stats(p));
    for (std::size_t i = 0; i + 1 < r.size(); i += 2) out[std::string(r[i].str())] += r[i + 1].as_integer();
  }
  co_return out;
}

asio::awaitable<std::int64_t> Store::counter(std::string_view field) {
  std::int64_t sum = 0;
  for (int p = 0; p < keys_.partitions(); ++p) {
    Reply r = co_await client_.command("HGET", keys_.stats(p), field);
    if (!r.is_nil()) sum += std::atoll(std::string(r.str()).c_str());
  }
  co_return sum;
}

asio::awaitable<std::int64_t> Store::registered_workers() {
  co_return (co_await client_.command("HLEN", keys_.workers())).as_integer();
}

asio::awaitable<std::vector<Store::QueueDepth>> Store::queue_depths() {
  std::vector<QueueDepth> out;
  for (const std::string& q : co_await known_queues()) {
    QueueDepth d;
    d.queue = q;
    for (int p = 0; p < keys_.partitions(); ++p) {
      Pipeline batch;
      const std::string stream = keys_.queue(p, q);
      batch.add("XLEN", stream);
      batch.add("XPENDING", stream, kGroup);
      std::vector<std::string> levels{"HMGET", stream + ":o"};
      for (int level = kMinPriority; level <= kMaxPriority; ++level) levels.push_back("n." + std::to_string(level));
      batch.add_argv(std::span<const std::string>(levels));
      for (int level = kMinPriority; level <= kMaxPriority; ++level) {
        batch.add("ZCARD", stream + ":or:" + std::to_string(level));
      }
      auto r = co_await client_.exec(std::move(batch));
      if (r[0].is_integer()) d.entries += r[0].as_integer();
      if (r[1].is_array() && r[1].size() > 0) d.pending += r[1][0].as_integer();
      const auto number = [](const Reply& v) -> std::int64_t {
        return v.is_string() ? std::strtoll(std::string(v.str()).c_str(), nullptr, 10) : 0;
      };
      for (int level = kMinPriority; level <= kMaxPriority; ++level) {
        const std::int64_t n = r[2].is_array() ? number(r[2][static_cast<std::size_t>(level)]) : 0;
        if (n <= 0) continue;  // (its key set may still hold keys that ran dry: lua/feed.lua)
        d.backlog += n;
        d.backlog_by_priority[level] += n;
        const Reply& keys = r[3 + static_cast<std::size_t>(level)];
        if (keys.is_integer()) d.active_keys += keys.as_integer();
      }
    }
    out.push_back(std::move(d));
  }
  co_return out;
}

asio::awaitable<std::int64_t> Store::delayed_count() {
  std::int64_t n = 0;
  for (int p = 0; p < keys_.partitions(); ++p) {
    Pipeline batch;
    batch.add("ZCARD", keys_.timers(p));
    batch.add("ZCARD", keys_.legacy_delayed(p));
    for (const Reply& r : co_await client_.exec(std::move(batch))) n += r.as_integer();
  }
  co_return n;
}

asio::awaitable<std::int64_t> Store::dlq_count() {
  std::int64_t n = 0;
  for (int p = 0; p < keys_.partitions(); ++p) {
    n += (co_await client_.command("XLEN", keys_.dlq(p))).as_integer();
  }
  co_return n;
}

asio::awaitable<std::set<std::string>> Store::backlogged(const std::vector<std::string>& stream_keys) {
  std::set<std::string> out;
  if (stream_keys.empty()) co_return out;
  Pipeline p;
  for (const std::string& k : stream_keys) {
    std::vector<std::string> levels{"HMGET", k + ":o"};
    for (int level = kMinPriority; level <= kMaxPriority; ++level) levels.push_back("n." + std::to_string(level));
    p.add_argv(std::span<const std::string>(levels));
  }
  const std::vector<Reply> replies = co_await client_.exec(std::move(p));
  for (std::size_t i = 0; i < stream_keys.size(); ++i) {
    if (!replies[i].is_array()) continue;
    for (const Reply& n : replies[i].elements()) {
      if (n.is_string() && n.str() != "0") out.insert(stream_keys[i]);
    }
  }
  co_return out;
}

asio::awaitable<void> Store::ensure_group(int partition, const std::string& queue) {
  Pipeline p;
  p.add("XGROUP", "CREATE", keys_.queue(partition, queue), kGroup, "0", "MKSTREAM");
  auto replies = co_await client_.exec(std::move(p));
  if (replies[0].is_error() && !replies[0].str().starts_with("BUSYGROUP")) checked(replies[0]);
}

asio::awaitable<std::vector<Started>> Store::start(int partition, const std::string& queue,
                                                   const std::vector<StartItem>& items) {
  std::vector<std::string> keys{keys_.queue(partition, queue)};
  std::vector<std::string> args{std::string(kGroup), consumer_};
  for (const StartItem& it : items) {
    keys.push_back(keys_.run(it.run_id));
    args.push_back(it.token.entry_id);
    args.push_back(it.step);
    args.push_back(std::to_string(it.token.deliveries));
    args.push_back(it.ticket);
  }
  Reply r = co_await client_.eval(scripts::start(), keys, args);
  std::vector<Started> out;
  out.reserve(items.size());
  for (const Reply& e : r.elements()) {
    Started s;
    const std::string_view state = e[0].str();
    s.state = state == "ok" ? Started::State::ok
              : state == "lost" ? Started::State::lost
                                : Started::State::missing;
    s.deliveries = e[1].as_integer();
    if (s.state == Started::State::ok) s.run = to_fields(e[2]);
    if (e.size() > 3) s.now_ms = e[3].as_integer();
    out.push_back(std::move(s));
  }
  co_return out;
}

asio::awaitable<std::vector<ReadClaim>> Store::read_and_start(int partition, const std::string& queue,
                                                            int count,
                                                            std::optional<std::chrono::milliseconds> feed_first,
                                                            redis::CommandOptions options) {
  const std::vector<std::string> keys{keys_.queue(partition, queue)};
  const std::string count_text = std::to_string(count);
  Pipeline p;
  if (feed_first) {
    p.add_eval(scripts::feed(), keys, std::vector<std::string>{consumer_, count_text, ms(*feed_first)});
  }
  p.add_eval(scripts::claim(), keys, std::vector<std::string>{std::string(kGroup), consumer_, count_text});
  const std::vector<Reply> replies = co_await client_.exec(std::move(p), options);
  for (const Reply& reply : replies) checked(reply);
  const Reply& r = replies.back();
  std::vector<ReadClaim> out;
  const std::int64_t now_ms = r[0].as_integer();
  constexpr std::size_t kPer = 6;  // claim.lua: id, run id, step, ticket, state, hash
  for (std::size_t k = 1; k + kPer <= r.size(); k += kPer) {
    ReadClaim c;
    c.item.token = Token{partition, queue, std::string(r[k].str()), 1};
    c.item.run_id = std::string(r[k + 1].str());
    c.item.step = std::string(r[k + 2].str());
    c.item.ticket = std::string(r[k + 3].str());
    c.started.state = r[k + 4].str() == "ok" ? Started::State::ok : Started::State::missing;
    c.started.deliveries = 1;
    c.started.now_ms = now_ms;
    if (c.started.state == Started::State::ok) c.started.run = to_fields(r[k + 5]);
    out.push_back(std::move(c));
  }
  co_return out;
}

asio::awaitable<std::vector<Applied>> Store::apply(const std::vector<Transition>& batch,
                                                   std::chrono::milliseconds retention) {
  // One script call per (partition, queue, script), all in one pipeline.
  using GroupKey = std::tuple<int, std::string, ScriptKind>;
  std::map<GroupKey, std::vector<std::size_t>> groups;
  std::vector<Applied> results(batch.size(), Applied::ok);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    ScriptKind k = kind_of(batch[i].action);
    if (k == ScriptKind::sleep && batch[i].child) k = ScriptKind::spawn;
    if (k == ScriptKind::none) continue;
    groups[{batch[i].token.partition, batch[i].token.queue, k}].push_back(i);
  }
  if (groups.empty()) co_return results;

  Pipeline p;
  std::vector<const std::vector<std::size_t>*> order;
  for (const auto& [key, indexes] : groups) {
    const auto& [partition, queue, kind] = key;
    const std::string stream = keys_.queue(partition, queue);
    std::vector<std::string> keys{stream};
    std::vector<std::string> args{std::string(kGroup), consumer_};
    const redis::Script* script = nullptr;
    switch (kind) {
      case ScriptKind::complete:
        script = &scripts::complete();
        keys.insert(keys.end(),
                    {keys_.stats(partition), keys_.retention(partition), keys_.index_status(partition, "live"),
                     keys_.index_status(partition, "cancelled"), keys_.dlq(partition),
                     keys_.index_status(partition, "failed"), keys_.timers(partition)});
        args.push_back(ms(retention));
        for (std::size_t i : indexes) {
          const Transition& t = batch[i];
          keys.push_back(keys_.run(t.run_id));
          const bool last = t.action == engine::Action::complete_run;
          keys.push_back(last ? stream : keys_.queue(partition, t.next_queue));
          args.insert(args.end(), {t.token.entry_id, std::to_string(t.token.deliveries), t.run_id,
                                   t.step, t.output, std::to_string(t.attempts),
                                   last ? std::string() : t.next_step,
                                   last ? std::string() : t.next_queue, t.workflow, t.signal,
                                   t.expand_max_parallel > 0 ? "expand"
                                   : t.skipped               ? "skipped"
                                   : t.failed                ? "failed"
                                                             : "",
                                   t.expand_max_parallel > 0 ? std::to_string(t.expand_max_parallel) + " " +
                                                                   std::to_string(t.expand_max_output_bytes)
                                   : t.failed                ? t.error
                                   : t.item_continues        ? "continue"
                                                             : std::string()});
        }
        break;
      case ScriptKind::retry:
        script = &scripts::retry();
        keys.push_back(keys_.timers(partition));
        keys.push_back(keys_.stats(partition));
        for (std::size_t i : indexes) {
          const Transition& t = batch[i];
          keys.push_back(keys_.run(t.run_id));
          const bool release = t.action == engine::Action::release;
          args.insert(args.end(), {t.token.entry_id, std::to_string(t.token.deliveries), t.run_id,
                                   t.step, std::to_string(t.attempts), ms(t.delay),
                                   release ? std::string() : t.error,
                                   std::to_string(t.rate_limited), ms(t.waited),
                                   t.unhandled ? "1" : "0", t.no_worker_queue,
                                   t.parked_limiter.empty() ? std::string()
                                                            : t.parked_limiter + "\t" + t.parked_key});
        }
        break;
      case ScriptKind::dead_letter:
        script = &scripts::dead_letter();
        keys.insert(keys.end(), {keys_.dlq(partition), keys_.stats(partition),
                                 keys_.index_status(partition, "live"), keys_.index_status(partition, "failed"),
                                 keys_.timers(partition)});
        for (std::size_t i : indexes) {
          const Transition& t = batch[i];
          keys.push_back(keys_.run(t.run_id));
          args.insert(args.end(), {t.token.entry_id, std::to_string(t.token.deliveries), t.run_id,
                                   t.step, std::to_string(t.attempts), t.error});
        }
        break;
      case ScriptKind::drop:
        script = &scripts::drop();
        keys.insert(keys.end(), {keys_.retention(partition), keys_.index_status(partition, "live"),
                                 keys_.index_status(partition, "cancelled"), keys_.timers(partition)});
        args.push_back(ms(retention));
        for (std::size_t i : indexes) {
          const Transition& t = batch[i];
          keys.push_back(keys_.run(t.run_id));
          args.insert(args.end(), {t.token.entry_id, std::to_string(t.token.deliveries), t.step,
                                   t.action == engine::Action::cancel_run ? "cancel" : "discard", t.run_id});
        }
        break;
      case ScriptKind::sleep:
        script = &scripts::sleep();
        keys.insert(keys.end(), {keys_.timers(partition), keys_.index_status(partition, "live"),
                                 keys_.index_status(partition, "cancelled"), keys_.retention(partition)});
        args.push_back(ms(retention));
        for (std::size_t i : indexes) {
          const Transition& t = batch[i];
          keys.push_back(keys_.run(t.run_id));
          args.insert(args.end(), {t.token.entry_id, std::to_string(t.token.deliveries), t.run_id, t.step,
                                   std::to_string(t.attempts), std::to_string(t.wake_at_ms), t.signal});
        }
        break;
      case ScriptKind::spawn:
        script = &scripts::spawn();
        keys.insert(keys.end(), {keys_.timers(partition), keys_.stats(partition), keys_.index_all(partition),
                                 keys_.index_status(partition, "live"), keys_.index_status(partition, "cancelled"),
                                 keys_.retention(partition), keys_.deadlines(partition)});
        args.push_back(ms(retention));
        for (std::size_t i : indexes) {
          const Transition& t = batch[i];
          const ChildStart& c = *t.child;
          keys.insert(keys.end(), {keys_.run(t.run_id), keys_.run(c.run_id), keys_.queue(partition, c.queue),
                                   keys_.index_workflow(partition, c.workflow)});
          args.insert(args.end(), {t.token.entry_id, std::to_string(t.token.deliveries), t.run_id, t.step,
                                   std::to_string(t.attempts), c.run_id, c.workflow, c.first_step, c.queue, c.steps,
                                   c.graph, c.input, std::to_string(c.deadline_ms), c.sched});
        }
        break;
      case ScriptKind::none: break;
    }
    p.add_eval(*script, keys, args);
    order.push_back(&indexes);
  }
  auto replies = co_await client_.exec(std::move(p));
  for (std::size_t g = 0; g < order.size(); ++g) {
    const Reply& r = checked(replies[g]);
    const auto& indexes = *order[g];
    for (std::size_t k = 0; k < indexes.size(); ++k) {
      const std::string_view s = r[k].str();
      // 'signalled': sleep.lua queued a signal wait again for a kept signal
      // 'started', 'attached', 'cancelled': spawn.lua wrote the transition
      results[indexes[k]] = s == "ok" || s == "signalled" || s == "started" || s == "attached" || s == "cancelled"
                                ? Applied::ok
                            : s == "stale"                 ? Applied::stale
                                                           : Applied::discarded;
    }
  }
  co_return results;
}

asio::awaitable<std::vector<Store::Renewal>> Store::renew(const std::vector<StartItem>& items) {
  std::map<int, std::vector<std::size_t>> by_partition;
  for (std::size_t i = 0; i < items.size(); ++i) by_partition[items[i].token.partition].push_back(i);
  Pipeline p;
  for (const auto& [partition, indexes] : by_partition) {
    std::vector<std::string> keys;
    std::vector<std::string> args{std::string(kGroup), consumer_};
    for (std::size_t i : indexes) {
      keys.push_back(keys_.queue(partition, items[i].token.queue));
      keys.push_back(keys_.run(items[i].run_id));
      args.push_back(items[i].token.entry_id);
      args.push_back(std::to_string(items[i].token.deliveries));
      args.push_back(items[i].step);
      const auto& report = items[i].progress;
      args.push_back(report ? "1" : "");
      args.push_back(report && report->progress ? json_number(*report->progress) : "");
      args.push_back(report ? report->message : "");
    }
    p.add_eval(scripts::renew(), keys, args);
  }
  std::vector<Renewal> out(items.size(), Renewal::lost);
  if (p.empty()) co_return out;
  auto replies = co_await client_.exec(std::move(p));
  std::size_t g = 0;
  for (const auto& [partition, indexes] : by_partition) {
    const Reply& r = checked(replies[g++]);
    for (std::size_t k = 0; k < indexes.size(); ++k) {
      const std::string_view s = r[k].str();
      out[indexes[k]] = s == "ok" ? Renewal::ok : s == "cancel" ? Renewal::cancel : Renewal::lost;
    }
  }
  co_return out;
}

asio::awaitable<Reclaimed> Store::reclaim(int partition, const std::string& queue,
                                          std::chrono::milliseconds min_idle, std::string cursor,
                                          int count, redis::CommandOptions options) {
  std::vector<std::string> keys{keys_.queue(partition, queue), keys_.dlq(partition),
                                keys_.stats(partition)};
  std::vector<std::string> args{std::string(kGroup), consumer_, ms(min_idle), cursor,
                                std::to_string(count)};
  Reply r = co_await client_.eval(scripts::reclaim(), keys, args, options);
  Reclaimed out;
  out.cursor = std::string(r[0].str());
  for (const Reply& e : r[1].elements()) {
    StartItem it;
    it.token = Token{partition, queue, std::string(e[0].str()), e[3].as_integer()};
    it.run_id = std::string(e[1].str());
    it.step = std::string(e[2].str());
    if (e.size() > 4) it.ticket = std::string(e[4].str());
    out.items.push_back(std::move(it));
  }
  out.payload_lost = r[2].as_integer();
  co_return out;
}

asio::awaitable<void> Store::add_counters(int partition, const std::map<std::string, std::int64_t>& deltas) {
  if (deltas.empty()) co_return;
  Pipeline p;
  const std::string key = keys_.stats(partition);
  for (const auto& [field, n] : deltas) p.add("HINCRBY", key, field, n);
  for (const Reply& r : co_await client_.exec(std::move(p))) checked(r);
}

std::string duration_bucket(std::chrono::milliseconds d) {
  for (std::int64_t bound : kStepDurationBucketsMs) {
    if (d.count() <= bound) return std::to_string(bound);
  }
  return "inf";
}

asio::awaitable<Store::Duty> Store::take_duty(int partition, const std::string& worker,
                                              std::chrono::milliseconds lease,
                                              redis::CommandOptions options) {
  const std::vector<std::string> keys{keys_.duty(partition)};
  const std::vector<std::string> args{worker, std::to_string(lease.count())};
  const Reply r = co_await client_.eval(scripts::duty(), keys, args, options);
  co_return Duty{r[0].as_integer() == 1, std::chrono::milliseconds(r[1].as_integer())};
}

// Two phases, so that promote.lua declares every key it touches: due.lua
// names the due members, their runs' queues are read, then promote.lua
// re-checks each member and moves it. One round trip when nothing is due.
asio::awaitable<long long> Store::promote(int partition, int limit, redis::CommandOptions options,
                                          std::set<std::string>* fed) {
  const std::vector<std::string> sets{keys_.timers(partition), keys_.legacy_delayed(partition)};
  const std::vector<std::string> due_keys{sets[0], sets[1], keys_.retention(partition), keys_.deadlines(partition)};
  const std::vector<std::string> limit_arg{std::to_string(limit)};
  const Reply due = co_await client_.eval(scripts::due(), due_keys, limit_arg, options);
  struct Member {
    std::string member;
    const char* set;
    std::string run_id;
  };
  std::vector<Member> members;
  for (const Reply& m : due[0].elements()) {
    const std::string member(m.str());
    members.push_back({member, "t", member.substr(0, member.find('\t'))});
  }
  for (const Reply& m : due[1].elements()) members.push_back({std::string(m.str()), "l", std::string(m.str())});
  for (const Reply& m : due[3].elements()) {
    const std::string member(m.str());
    members.push_back({member, "r", member.substr(0, member.find('\t'))});
  }
  for (const Reply& m : due[4].elements()) {
    const std::string member(m.str());
    members.push_back({member, "d", member.substr(0, member.find('\t'))});
  }
  if (members.empty()) co_return due[2].as_integer();

  Pipeline reads;
  for (const Member& m : members) {
    reads.add("HMGET", keys_.run(m.run_id), "queue", "status", "workflow", "metadata");
  }
  const std::vector<Reply> f = co_await client_.exec(std::move(reads), options);
  const auto field = [&](std::size_t i, std::size_t k) {
    return f[i].is_array() && !f[i][k].is_nil() ? std::string(f[i][k].str()) : std::string();
  };
  // Retries go back to their queue (promote.lua); ended runs whose retention
  // is over go with their index entries (expire.lua).
  std::vector<std::string> promote_keys = sets;
  std::vector<std::string> promote_args;
  std::vector<std::string> expire_keys{keys_.retention(partition), keys_.timers(partition),
                                      keys_.deadlines(partition)};
  std::vector<std::string> expire_args;
  // Run deadlines (deadline.lua): the run fails into the dead-letter queue.
  std::vector<std::string> deadline_keys{keys_.timers(partition), keys_.dlq(partition), keys_.stats(partition),
                                         keys_.index_status(partition, "live"),
                                         keys_.index_status(partition, "failed"), keys_.deadlines(partition)};
  std::vector<std::string> deadline_args{std::string(kGroup)};
  for (std::size_t i = 0; i < members.size(); ++i) {
    const Member& m = members[i];
    // "t": written by schema 3 before the retention set had its own key.
    if (m.set[0] == 'r' || (m.set[0] == 't' && m.member.ends_with("\texpire"))) {
      const std::string status = field(i, 1);
      std::vector<std::string> indexes;
      if (status.empty()) {  // the hash is gone: the indexes its id is sure to be in
        indexes = {keys_.index_all(partition), keys_.index_status(partition, "cancelled")};
      } else {
        indexes = run_index_keys(keys_, partition, field(i, 2), engine::stored_metadata(field(i, 3)), status_group(status));
      }
      expire_keys.push_back(keys_.run(m.run_id));
      expire_keys.insert(expire_keys.end(), indexes.begin(), indexes.end());
      expire_args.insert(expire_args.end(), {m.member, m.run_id, status, std::to_string(indexes.size())});
      continue;
    }
    const std::string queue = field(i, 0);
    // "t": written by versions before the deadline set had its own key.
    if (m.set[0] == 'd' || (m.set[0] == 't' && m.member.ends_with("\tdeadline"))) {
      deadline_keys.push_back(keys_.run(m.run_id));
      deadline_keys.push_back(keys_.queue(partition, queue));
      deadline_args.insert(deadline_args.end(), {m.member, m.run_id, queue});
      continue;
    }
    promote_keys.push_back(keys_.run(m.run_id));
    promote_keys.push_back(keys_.queue(partition, queue));
    promote_args.insert(promote_args.end(), {m.member, m.set, queue});
    if (fed != nullptr) fed->insert(promote_keys.back());
  }
  Pipeline writes;
  if (!promote_args.empty()) writes.add_eval(scripts::promote(), promote_keys, promote_args);
  if (!expire_args.empty()) writes.add_eval(scripts::expire(), expire_keys, expire_args);
  if (deadline_args.size() > 1) writes.add_eval(scripts::deadline(), deadline_keys, deadline_args);
  for (const Reply& r : co_await client_.exec(std::move(writes), options)) checked(r);
  // A full page: more may be due already.
  const auto page_full = [&](const Reply& r) { return r.size() >= static_cast<std::size_t>(limit); };
  const bool full = page_full(due[0]) || page_full(due[1]) || page_full(due[3]) || page_full(due[4]);
  co_return full ? 0 : due[2].as_integer();
}

}  // namespace steadfast::store
