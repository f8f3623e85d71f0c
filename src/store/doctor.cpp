#include "store/doctor.h"

#include <utility>

// GCC 12 at -O2 reports Asio's coroutine-frame operator new and its sized
// operator delete as mismatched once it inlines a coroutine into its caller
// (as in src/api/service.cpp): a false positive. Silenced for this file alone.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace steadfast::store {

namespace {

using redis::Pipeline;
using redis::Reply;

// The problem with a run's tokens, or empty when it holds the right ones.
std::string token_problem(const RunTokens& t) {
  const int live = t.in_stream + t.in_delayed;
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
  return status == "queued" || status == "running" || status == "retrying";
}

// Gives a live run without any token its token back at its current step.
asio::awaitable<std::string> re_enqueue(Store& st, const std::string& id) {
  redis::Client& c = st.client();
  const KeySpace& keys = st.keys();
  Reply f = co_await c.command("HMGET", keys.run(id), "step", "queue", "base");
  const int p = keys.partition_of(id);
  Reply nid = co_await c.command("XADD", keys.queue(p, f[1].str()), "*", "r", id, "s", f[0].str(), "a",
                                 f[2].is_nil() ? "0" : f[2].str());
  co_await c.command("HSET", keys.run(id), "status", "queued", "entry", nid.str());
  co_return "re-enqueued at step " + std::string(f[0].str());
}

// The orphan entries of one stream (entries whose run does not point back at them).
asio::awaitable<void> examine_stream(Store& st, const std::string& stream, bool repair,
                                     std::vector<Offender>& found) {
  redis::Client& c = st.client();
  std::string from = "-";
  for (;;) {
    Reply page = co_await c.command("XRANGE", stream, from, "+", "COUNT", 500);
    if (page.size() == 0) break;
    Pipeline look;
    std::vector<std::pair<std::string, std::string>> entries;  // entry id, run id
    for (const Reply& e : page.elements()) {
      std::string run;
      for (std::size_t k = 0; k + 1 < e[1].size(); k += 2) {
        if (e[1][k].str() == "r") run = std::string(e[1][k + 1].str());
      }
      entries.emplace_back(std::string(e[0].str()), run);
      look.add("HGET", st.keys().run(run), "entry");
    }
    auto owners = co_await c.exec(std::move(look));
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (!owners[i].is_nil() && owners[i].str() == entries[i].first) continue;
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

}  // namespace

asio::awaitable<DoctorReport> examine(Store& st, bool repair) {
  DoctorReport report;
  for (const std::string& id : co_await st.all_run_ids()) {
    RunTokens t = co_await st.run_tokens(id);
    if (t.status.empty()) continue;  // expired between SCAN and now
    ++report.runs;
    std::string problem = token_problem(t);
    if (problem.empty()) continue;
    Offender o;
    o.run_id = id;
    o.problem = std::move(problem);
    if (repair && t.in_stream + t.in_delayed == 0 && t.in_dlq == 0 && is_live(t.status)) {
      o.repaired = co_await re_enqueue(st, id);
    }
    o.tokens = std::move(t);
    report.offenders.push_back(std::move(o));
  }
  for (const std::string& q : co_await st.known_queues()) {
    for (int p = 0; p < st.keys().partitions(); ++p) {
      co_await examine_stream(st, st.keys().queue(p, q), repair, report.offenders);
    }
  }
  co_return report;
}

}  // namespace steadfast::store
