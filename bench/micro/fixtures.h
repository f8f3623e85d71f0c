// Realistic inputs for the micro-benchmarks: the replies Redis sends the
// worker (as Reply trees and as the RESP2 bytes on the wire), a run hash, a
// run input and an LLM-style step output. Deterministic: the same bytes on
// every run.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "redis/reply.h"
#include "steadfast/json.h"

namespace steadfast::bench {

// The workflow the fixtures belong to: three steps on the queue "default".
inline const std::vector<std::string>& step_names() {
  static const std::vector<std::string> names{"fetch", "summarize", "notify"};
  return names;
}
inline constexpr const char* kWorkflow = "summarize-report";
inline constexpr const char* kQueueKey = "sf:{0}:q:default";  // KeySpace::queue(0, "default")
inline constexpr const char* kConsumer = "worker-a-4242";

// A ULID-shaped run id (26 Crockford base32 characters), distinct per i.
inline std::string run_id(std::size_t i) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  std::string id = "01J0Q7ZK3M";  // the 48-bit time part (10 characters)
  std::size_t x = 0x9E3779B97F4A7C15ULL * (i + 1);
  for (int k = 0; k < 16; ++k) {
    id += kAlphabet[x % 32];
    x = x / 32 + 0x5851F42D4C957F2DULL * (k + 1);
  }
  return id;
}

// A stream entry id as XADD makes them.
inline std::string entry_id(std::size_t i) { return std::to_string(1717171717171 + i) + "-0"; }

// The run's input as submitted: ~200 bytes of JSON.
inline std::string input_json() {
  return R"({"document_url":"https://files.example.com/reports/2024/q3-earnings-final.pdf",)"
         R"("language":"en","max_words":250,"tags":["finance","quarterly","board"],)"
         R"("requested_by":"user-48213","priority":"normal"})";
}

// A step output of the shape an LLM call returns (OpenAI chat completion):
// ~1 KB once dumped, with newlines, quotes and non-ASCII text in the content.
inline Json llm_output() {
  const std::string content =
      "## Q3 summary\n\n"
      "Revenue rose 12% year over year to \u20ac4.2 bn, driven by the \"Cloud\" segment "
      "(+31%), while hardware sales fell 8%. Operating margin improved to 18.4% "
      "(Q2: 16.9%) on lower logistics costs.\n\n"
      "Key points:\n"
      "- Guidance for FY2024 raised to \u20ac16.5\u201317.0 bn.\n"
      "- Free cash flow of \u20ac610 m; net debt down to \u20ac1.1 bn.\n"
      "- Headcount flat at 21 400; restructuring in EMEA completed.\n"
      "- Risks: FX headwinds, a pending antitrust review in the EU.\n\n"
      "The board proposes an interim dividend of \u20ac0.45 per share. "
      "Management called the quarter \u201cthe strongest since 2019\u201d.";
  return Json{
      {"id", "chatcmpl-9ZxK3qTq7Lm2VbN8cR4sW1yH6uJ0"},
      {"object", "chat.completion"},
      {"created", 1717171717},
      {"model", "gpt-4o-2024-05-13"},
      {"choices", Json::array({Json{{"index", 0},
                                    {"message", Json{{"role", "assistant"}, {"content", content}}},
                                    {"logprobs", nullptr},
                                    {"finish_reason", "stop"}}})},
      {"usage", Json{{"prompt_tokens", 812}, {"completion_tokens", 164}, {"total_tokens", 976}}},
      {"system_fingerprint", "fp_3aa7262c27"},
  };
}

using FieldList = std::vector<std::pair<std::string, std::string>>;

// The run hash as start.lua's HGETALL returns it when step `step_index` is
// claimed (attempt 1): the fields submit.lua wrote, start.lua's marks, and the
// status and output of each earlier step (an llm_output() each).
inline FieldList run_hash(std::size_t i, int step_index) {
  const std::string& step = step_names().at(static_cast<std::size_t>(step_index));
  const std::string now = "1717171720123";
  FieldList f{
      {"workflow", kWorkflow},
      {"status", "running"},
      {"input", input_json()},
      {"created_at", "1717171717171"},
      {"updated_at", now},
      {"step", step},
      {"queue", "default"},
      {"entry", entry_id(i)},
      {"base", "0"},
      {"steps", Json(step_names()).dump()},
  };
  const std::string output = llm_output().dump();
  for (int k = 0; k < step_index; ++k) {
    const std::string p = "s." + step_names()[static_cast<std::size_t>(k)] + ".";
    f.emplace_back(p + "status", "completed");
    f.emplace_back(p + "attempts", "1");
    f.emplace_back(p + "output", output);
    f.emplace_back(p + "finished_at", now);
  }
  const std::string p = "s." + step + ".";
  f.emplace_back(p + "status", "running");
  f.emplace_back(p + "attempts", "1");
  f.emplace_back(p + "started_at", now);
  f.emplace_back(p + "worker", kConsumer);
  return f;
}

inline redis::Reply bulk(std::string s) { return redis::Reply::make_string(std::move(s)); }

inline redis::Reply flat(const FieldList& fields) {
  std::vector<redis::Reply> v;
  v.reserve(fields.size() * 2);
  for (const auto& [k, val] : fields) {
    v.push_back(bulk(k));
    v.push_back(bulk(val));
  }
  return redis::Reply::make_array(std::move(v));
}

// XREADGROUP GROUP steadfast <consumer> COUNT n BLOCK 1000 STREAMS <queue> >
// with n fresh entries: [[queue, [[id, [r, <run id>, s, <step>, a, 0]], ...]]].
inline redis::Reply xreadgroup_reply(std::size_t n) {
  std::vector<redis::Reply> entries;
  entries.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    entries.push_back(redis::Reply::make_array(
        {bulk(entry_id(i)), flat({{"r", run_id(i)}, {"s", step_names()[0]}, {"a", "0"}})}));
  }
  std::vector<redis::Reply> stream;
  stream.push_back(bulk(kQueueKey));
  stream.push_back(redis::Reply::make_array(std::move(entries)));
  std::vector<redis::Reply> streams;
  streams.push_back(redis::Reply::make_array(std::move(stream)));
  return redis::Reply::make_array(std::move(streams));
}

// start.lua's reply for n claimed entries of step `step_index`:
// per item {'ok', deliveries, HGETALL of the run}.
inline redis::Reply start_reply(std::size_t n, int step_index) {
  std::vector<redis::Reply> items;
  items.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    items.push_back(redis::Reply::make_array(
        {bulk("ok"), redis::Reply::make_integer(1), flat(run_hash(i, step_index))}));
  }
  return redis::Reply::make_array(std::move(items));
}

// The RESP2 bytes Redis writes for a reply (Lua strings become bulk strings,
// Lua numbers integers).
inline void encode_resp(const redis::Reply& r, std::string& out) {
  auto line = [&](char prefix, std::string_view text) {
    out += prefix;
    out += text;
    out += "\r\n";
  };
  switch (r.type()) {
    case redis::Reply::Type::nil: out += "$-1\r\n"; break;
    case redis::Reply::Type::string:
      line('$', std::to_string(r.str().size()));
      out += r.str();
      out += "\r\n";
      break;
    case redis::Reply::Type::status: line('+', r.str()); break;
    case redis::Reply::Type::error: line('-', r.str()); break;
    case redis::Reply::Type::integer: line(':', std::to_string(r.as_integer())); break;
    case redis::Reply::Type::array:
      line('*', std::to_string(r.size()));
      for (const redis::Reply& e : r.elements()) encode_resp(e, out);
      break;
  }
}

inline std::string encode_resp(const redis::Reply& r) {
  std::string out;
  encode_resp(r, out);
  return out;
}

}  // namespace steadfast::bench
