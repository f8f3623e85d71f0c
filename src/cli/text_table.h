// The CLI's human output: one line per row, columns aligned, every cell made
// printable (engine::printable) so a stored name or error holding a newline or
// an ESC sequence can neither break a row nor drive the terminal. Pure: no I/O
// but the stream it is given.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "steadfast/json.h"

namespace steadfast::cli {

class TextTable {
 public:
  // indent: spaces before every row; gap: spaces between columns.
  explicit TextTable(std::size_t indent = 0, std::size_t gap = 2) : indent_(indent), gap_(gap) {}

  // Cells as stored (raw); they are escaped when printed. A row may have
  // fewer cells than another; the last cell of a row is not padded.
  void add(std::vector<std::string> cells);
  [[nodiscard]] bool empty() const noexcept { return rows_.empty(); }

  // Every row, aligned, each ending in "\n".
  void print(std::ostream& out) const;

 private:
  std::size_t indent_;
  std::size_t gap_;
  std::vector<std::vector<std::string>> rows_;  // escaped already
};

// Columns a terminal gives `text` (printable already): its UTF-8 code points.
[[nodiscard]] std::size_t display_width(std::string_view text) noexcept;

// An elapsed time for a person, from ms (negative counts as 0): "850ms",
// "1.2s" (under a minute, one decimal), "2m03s", "1h02m".
[[nodiscard]] std::string format_elapsed_ms(std::int64_t ms);

// A waiting_for object (engine/waiting_for.h) on one line: its kind, then
// "until <time>" when it has one, then its other fields as key=value
// ("queue_paused until 2026-12-02T10:00:00.000Z queue=llm"); "" for null.
[[nodiscard]] std::string describe_waiting_for(const Json& waiting_for);

}  // namespace steadfast::cli
