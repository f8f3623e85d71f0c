#include "store/doctor.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string_view>
#include <utility>

#include "store/scripts.h"

namespace steadfast::store {

namespace {

using redis::Pipeline;
using redis::Reply;

// The problem with a run's tokens, or empty when it holds the right ones.
std::string token_problem(const RunTokens& t) {
  const int live = t.in_stream + t.in_delayed;
  if (t.graph_live >= 0) {
    // A graph run: a token per live node. Once it ended, only entries that
    // workers still run (they finish their attempt) may remain.
    const int waiting = live - t.pending;
    if (t.status == "completed" || t.status == "cancelled") {
      return waiting + t.in_dlq != 0 ? "finished run still holds a token" : "";
    }
    if (t.status == "failed") {
      return t.in_dlq != 1 || waiting != 0 ? "failed run must be in the dead-letter queue only" : "";
    }
    if (live == 0) return "live run has no token (it would never finish)";
    return live == t.graph_live && t.in_dlq == 0
               ? ""
               : "run holds " + std::to_string(live) + " tokens for " + std::to_string(t.graph_live) + " live steps";
  }
  if (t.status == "completed" || t.status == "cancelled") {
    return live + t.in_dlq != 0 ? "finished run still holds a token" : "";
  }
  if (t.status == "failed") {
    return t.in_dlq != 1 || live != 0 ? "failed run must be in the dead-letter queue only" : "";
  }
  if (live == 1 && t.in_dlq == 0) return "";
  return live == 0 ? "live run has no token (it would never finish)" : "live run holds more than one token";
}

bool is_live(std::string_view status) {
  return status == "scheduled" || status == "queued" || status == "running" || status == "retrying" ||
         status == "waiting";
}

// A stream id "<ms>-<seq>" as a pair of numbers, for ordering; {0, 0} if malformed.
std::pair<unsigned long long, unsigned long long> stream_id(std::string_view id) {
  const std::size_t dash = id.find('-');
  if (dash == std::string_view::npos) return {0, 0};
  return {std::strtoull(std::string(id.substr(0, dash)).c_str(), nullptr, 10),
          std::strtoull(std::string(id.substr(dash + 1)).c_str(), nullptr, 10)};
}

// The consumer group's last-delivered id of a stream; empty when the stream
// or the group does not exist (a worker makes the group at the stream's
// beginning when it starts, so every entry will be delivered then).
asio::awaitable<std::string> last_delivered(redis::Client& c, const std::string& stream) {
  Pipeline p;
  p.add("XINFO", "GROUPS", stream);
  auto r = co_await c.exec(std::move(p));
  if (!r[0].is_array()) co_return "";  // ERR no such key
  for (const Reply& g : r[0].elements()) {
    std::string name;
    std::string last;
    for (std::size_t k = 0; k + 1 < g.size(); k += 2) {
      if (g[k].str() == "name") name = std::string(g[k + 1].str());
      if (g[k].str() == "last-delivered-id") last = std::string(g[k + 1].str());
    }
    if (name == kGroup) co_return last;
  }
  co_return "";
}

// The orphan entries of one stream (entries whose run does not point back at
// them), and the undeliverable ones its runs hold.
asio::awaitable<void> examine_stream(Store& st, const std::string& stream, bool repair,
                                     std::vector<Offender>& found) {
  redis::Client& c = st.client();
  const std::string last = co_await last_delivered(c, stream);
  std::string from = "-";
  for (;;) {
    Reply page = co_await c.command("XRANGE", stream, from, "+", "COUNT", 500);
    if (page.size() == 0) break;
    Pipeline look;
    std::vector<std::pair<std::string, std::string>> entries;  // entry id, run id
    std::vector<std::string> steps;                            // each entry's step
    std::vector<std::string> tickets;  // each entry's backlog ticket ("" = none: lua/lib.lua "Ordered queues")
    for (const Reply& e : page.elements()) {
      std::string run;
      std::string step;
      std::string ticket;
      for (std::size_t k = 0; k + 1 < e[1].size(); k += 2) {
        if (e[1][k].str() == "r") run = std::string(e[1][k + 1].str());
        if (e[1][k].str() == "s") step = std::string(e[1][k + 1].str());
        if (e[1][k].str() == "b") ticket = std::string(e[1][k + 1].str());
      }
      entries.emplace_back(std::string(e[0].str()), run);
      steps.push_back(step);
      tickets.push_back(ticket);
      look.add("HMGET", st.keys().run(run), "entry", "s." + step + ".entry");
    }
    // The entry a run points back at: its own (a chain run), or its node's (a
    // graph run); an entry fed from an ordered queue's backlog and not claimed
    // yet, by its ticket ("b:<ticket>\t...").
    const auto holder = [&tickets, &entries](const Reply& fields, std::size_t i) {
      const std::string fed = tickets[i].empty() ? std::string() : "b:" + tickets[i] + "\t";
      for (const Reply& f : fields.elements()) {
        if (f.is_nil()) continue;
        if (f.str() == entries[i].first || (!fed.empty() && f.str().starts_with(fed))) return true;
      }
      return false;
    };
    auto owners = co_await c.exec(std::move(look));
    // Held entries at or below the last-delivered id: deliverable only if claimed.
    std::vector<std::size_t> behind;
    Pipeline claimed;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (!holder(owners[i], i) || last.empty()) continue;
      if (stream_id(last) < stream_id(entries[i].first)) continue;
      behind.push_back(i);
      // Not claimed, and still there and still the run's (a worker may have
      // finished it between the reads: then it is not stuck).
      claimed.add("XPENDING", stream, kGroup, entries[i].first, entries[i].first, 1);
      claimed.add("XRANGE", stream, entries[i].first, entries[i].first);
      claimed.add("HMGET", st.keys().run(entries[i].second), "entry", "s." + steps[i] + ".entry");
    }
    if (!behind.empty()) {
      auto pel = co_await c.exec(std::move(claimed));
      for (std::size_t k = 0; k < behind.size(); ++k) {
        const auto& [entry, run] = entries[behind[k]];
        const std::size_t i = behind[k];
        const Reply& pending = pel[3 * k];
        const Reply& still = pel[3 * k + 1];
        const Reply& held_by = pel[3 * k + 2];
        if ((pending.is_array() && pending.size() > 0) || !still.is_array() || still.size() == 0 ||
            !holder(held_by, i)) {
          continue;
        }
        Offender o;
        o.kind = Offender::Kind::undeliverable;
        o.run_id = run;
        o.problem = "run's token can never be delivered (at or below the group's last-delivered id " + last +
                    ", claimed by no worker)";
        o.stream = stream;
        o.entry = entry;
        o.tokens = co_await st.run_tokens(run);
        found.push_back(std::move(o));
      }
    }
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (holder(owners[i], i)) continue;
      Offender o;
      o.kind = Offender::Kind::orphan_entry;
      o.run_id = entries[i].second;
      o.problem = "stream entry not held by its run (orphan token)";
      o.stream = stream;
      o.entry = entries[i].first;
      if (repair) {
        // Only an entry no worker holds: a claimed one is some worker's to finish.
        Pipeline pending;
        pending.add("XPENDING", stream, kGroup, o.entry, o.entry, 1);
        auto pr = co_await c.exec(std::move(pending));
        if (pr[0].is_array() && pr[0].size() == 0) {
          co_await c.command("XDEL", stream, o.entry);
          o.repaired = "deleted the orphan entry";
        }
      }
      found.push_back(std::move(o));
    }
    from = "(" + std::string(page[page.size() - 1][0].str());
  }
}

// A live graph run's steps waiting for a child run: each child still runs,
// or its end's wake-up is due (the 'child' timer). A child that ended (or
// whose hash is gone) without one would leave its step waiting for ever;
// repair puts the wake-up back, and the step's claim reads the child's
// outcome (a gone child fails the step, naming it).
asio::awaitable<void> examine_child_waits(Store& st, const std::string& run_id, bool repair,
                                          std::vector<Offender>& found) {
  redis::Client& c = st.client();
  const KeySpace& keys = st.keys();
  const std::string timers = keys.timers(keys.partition_of(run_id));
  for (const Store::ChildLink& link : co_await st.child_links(run_id)) {
    if (link.holder_status != "waiting") continue;
    Pipeline look;
    look.add("HGET", keys.run(link.child), "status");
    look.add("ZSCORE", timers, run_id + "\t" + link.holder + "\tchild");
    auto r = co_await c.exec(std::move(look));
    const std::string status = r[0].is_nil() ? std::string() : std::string(r[0].str());
    const bool ended = status.empty() || status == "completed" || status == "failed" || status == "cancelled";
    if (!ended || !r[1].is_nil()) continue;
    Offender o;
    o.kind = Offender::Kind::child_wait;
    o.run_id = run_id;
    o.stream = link.child;
    o.entry = link.holder;
    o.problem = "step " + link.holder + " waits for child run " + link.child + ", which " +
                (status.empty() ? std::string("no longer exists") : "has ended (" + status + ")") +
                " without waking it";
    if (repair) {
      co_await c.command("ZADD", timers, "NX", "0", run_id + "\t" + link.holder + "\tchild");
      o.repaired = "woke step " + link.holder + " (its claim takes the child's outcome)";
    }
    found.push_back(std::move(o));
  }
}

}  // namespace

asio::awaitable<std::vector<std::string>> re_enqueue(Store& st, int partition,
                                                     const std::vector<std::string>& run_ids) {
  redis::Client& c = st.client();
  const KeySpace& keys = st.keys();
  std::vector<std::string> out;
  for (std::size_t from = 0; from < run_ids.size(); from += kRepairBatch) {
    const std::size_t to = std::min(run_ids.size(), from + kRepairBatch);
    // The queue of each run, read first so the script can declare its stream;
    // the script refuses a run whose queue changed since ("moved").
    Pipeline look;
    for (std::size_t i = from; i < to; ++i) look.add("HGET", keys.run(run_ids[i]), "queue");
    auto queues = co_await c.exec(std::move(look));
    std::vector<std::string> script_keys{keys.timers(partition), keys.legacy_delayed(partition), keys.dlq(partition)};
    std::vector<std::string> args{std::string(kGroup)};
    for (std::size_t i = from; i < to; ++i) {
      const std::string queue = queues[i - from].is_nil() ? "" : std::string(queues[i - from].str());
      script_keys.push_back(keys.run(run_ids[i]));
      script_keys.push_back(keys.queue(partition, queue));
      args.push_back(run_ids[i]);
      args.push_back(queue);
    }
    Reply r = co_await c.eval(scripts::repair(), script_keys, args);
    if (r.is_error()) throw redis::ServerError(std::string(r.str()));
    for (const Reply& e : r.elements()) out.emplace_back(e.str());
  }
  co_return out;
}

asio::awaitable<DoctorReport> examine(Store& st, bool repair) {
  DoctorReport report;
  for (const std::string& id : co_await st.all_run_ids()) {
    RunTokens t = co_await st.run_tokens(id);
    if (t.status.empty()) continue;  // expired between SCAN and now
    ++report.runs;
    std::string problem = token_problem(t);
    if (problem.empty() && t.graph_live >= 0 && is_live(t.status)) {
      co_await examine_child_waits(st, id, repair, report.offenders);
    }
    if (problem.empty()) continue;
    Offender o;
    o.run_id = id;
    o.problem = std::move(problem);
    o.tokens = std::move(t);
    report.offenders.push_back(std::move(o));
  }
  for (const std::string& q : co_await st.known_queues()) {
    for (int p = 0; p < st.keys().partitions(); ++p) {
      co_await examine_stream(st, st.keys().queue(p, q), repair, report.offenders);
    }
  }
  if (repair) {
    // Live runs with no token, or none that can be delivered, per partition:
    // the script re-checks each, so a run fixed meanwhile is left alone.
    std::map<int, std::vector<Offender*>> by_partition;
    for (Offender& o : report.offenders) {
      const bool tokenless = o.kind == Offender::Kind::run && o.tokens.in_stream + o.tokens.in_delayed == 0 &&
                             o.tokens.in_dlq == 0 && is_live(o.tokens.status);
      // A graph run short of tokens: repair.lua gives each node its own back.
      const bool graph_short = o.kind == Offender::Kind::run && o.tokens.graph_live >= 0 &&
                               is_live(o.tokens.status) &&
                               o.tokens.in_stream + o.tokens.in_delayed < o.tokens.graph_live;
      if (tokenless || graph_short || o.kind == Offender::Kind::undeliverable) {
        by_partition[st.keys().partition_of(o.run_id)].push_back(&o);
      }
    }
    for (auto& [p, offenders] : by_partition) {
      std::vector<std::string> ids;
      for (const Offender* o : offenders) ids.push_back(o->run_id);
      const std::vector<std::string> results = co_await re_enqueue(st, p, ids);
      for (std::size_t i = 0; i < offenders.size() && i < results.size(); ++i) {
        if (results[i].starts_with("repaired:")) {
          offenders[i]->repaired = "re-enqueued at step " + results[i].substr(9);
        } else if (results[i].starts_with("timeout:")) {
          offenders[i]->repaired =
              "signal timeout timer of step " + results[i].substr(8) + " put back at its due time";
        } else if (results[i].starts_with("rescheduled:")) {
          offenders[i]->repaired = offenders[i]->tokens.status == "waiting"
                                       ? "sleep timer of step " + results[i].substr(12) + " put back at its due time"
                                       : "start timer of step " + results[i].substr(12) + " put back at its run_at";
        }
      }
    }
  }
  co_return report;
}

}  // namespace steadfast::store
