// RESP parsing: the bytes of a fetched batch and of start.lua's reply, fed
// through the client's reader (redis::ReplyParser: hiredis' reader building
// Reply trees) the way Client::read_loop does it — feed what one read returned
// (at most 64 KiB), then take every complete reply.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>

#include "fixtures.h"
#include "redis/reply.h"

namespace steadfast::bench {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;  // Client's read buffer (redis/client.cpp)

// Feeds `bytes` in reads of at most kReadChunk and returns the reply, or
// nullopt when the bytes did not make exactly one complete reply.
std::optional<redis::Reply> parse(redis::ReplyParser& parser, const std::string& bytes) {
  std::optional<redis::Reply> out;
  for (std::size_t at = 0; at < bytes.size(); at += kReadChunk) {
    parser.feed(bytes.data() + at, std::min(kReadChunk, bytes.size() - at));
    while (auto r = parser.next()) {
      if (out) return std::nullopt;  // more than one reply
      out = std::move(r);
    }
  }
  return out;
}

void run(benchmark::State& state, const redis::Reply& expected, std::size_t items) {
  const std::string bytes = encode_resp(expected);
  redis::ReplyParser parser;
  // The work is real: the parser rebuilds exactly the tree the bytes encode.
  if (parse(parser, bytes) != expected) {
    state.SkipWithError("the parsed reply differs from the one encoded");
    return;
  }
  for (auto _ : state) {
    std::optional<redis::Reply> r = parse(parser, bytes);
    if (!r || r->size() != expected.size()) {
      state.SkipWithError("no complete reply of the expected size");
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(items));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
  state.SetLabel(std::to_string(bytes.size()) + " B/reply");
}

// XREADGROUP ... COUNT n ... STREAMS <queue> >: n entries [id, [r, <run id>, s, <step>, a, 0]].
void BM_Resp_XreadgroupBatch(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  run(state, xreadgroup_reply(n), n);
}
BENCHMARK(BM_Resp_XreadgroupBatch)->ArgName("entries")->Arg(64);

// start.lua for n claimed entries: per item {'ok', 1, HGETALL of the run}.
// step 0: 14 fields incl. the 200-byte input; step 1: plus the first step's
// status, attempts, finished_at and its ~1 KB output.
void BM_Resp_StartReply(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  run(state, start_reply(n, static_cast<int>(state.range(1))), n);
}
BENCHMARK(BM_Resp_StartReply)->ArgNames({"entries", "step"})->Args({64, 0})->Args({64, 1});

}  // namespace
}  // namespace steadfast::bench
