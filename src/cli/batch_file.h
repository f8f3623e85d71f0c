// `submit --batch FILE.jsonl`: one run per line, each line a JSON object as a
// batch item of the HTTP API ({"input", "metadata", "delay" | "run_at",
// "idempotency_key"}; all optional).
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

#include "steadfast/client.h"

namespace steadfast::cli {

// A line of the file: its number (1-based) and the run it asks for.
struct BatchLine {
  std::size_t line = 0;
  SubmitItem item;
};

// Reads every non-blank line of `in` (`name` is how messages call it: the
// path, or "stdin"). Throws std::invalid_argument naming the line and what is
// wrong (not JSON, not an object, an unknown member, a bad metadata, delay,
// run_at or idempotency_key), so that a bad file submits nothing.
[[nodiscard]] std::vector<BatchLine> read_batch(std::istream& in, const std::string& name);

}  // namespace steadfast::cli
