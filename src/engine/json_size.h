// What a JSON text costs once parsed. nlohmann::json keeps every value in a
// 16-byte node and every string, object and array in its own allocation, so a
// 1 MiB text of `[{},{},…]` takes about 22 MB parsed (x21), and a worker
// holds the input and every earlier output of each step it runs. Inputs and
// outputs whose parsed form would be too large are refused before parsing.
#pragma once

#include <cstddef>
#include <string_view>

namespace steadfast::engine {

// The most a run's input (checked at submit) or one step output may take
// parsed, estimated by parsed_size_estimate().
inline constexpr std::size_t kMaxParsedBytes = std::size_t{16} << 20;
// The most the input and earlier outputs a step is handed may take parsed,
// together (the worker checks it before parsing them).
inline constexpr std::size_t kMaxParsedBytesPerStep = std::size_t{32} << 20;

struct ParsedSize {
  std::size_t bytes = 0;   // an upper estimate of the heap the parsed value takes
  std::size_t values = 0;  // values of any kind, object keys not counted
};

// An estimate, from one scan of the text without allocating, of what parsing
// it with nlohmann::json takes on a 64-bit libstdc++/glibc build: 24 bytes
// per array slot (with growth slack), 64 per object, 40 per array, 48 per
// string (plus its length + 32 past 15 bytes), 104 per object member.
// Measured on 1 MiB texts of ten shapes it is 1.0-1.5 times what glibc
// reports in use (tests/engine/json_size_test.cpp).
// Safe on any text, valid JSON or not.
[[nodiscard]] ParsedSize parsed_size_estimate(std::string_view text) noexcept;

}  // namespace steadfast::engine
