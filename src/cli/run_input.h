// `submit --input`: the run's input from the argument itself, a file or stdin.
#pragma once

#include <istream>
#include <string_view>

#include "steadfast/json.h"

namespace steadfast::cli {

// The run's input for `--input ARG`:
//   "-"        the JSON read from `in` (stdin) to its end;
//   "@PATH"    the JSON in the file PATH;
//   otherwise  ARG itself as JSON.
// No JSON text starts with '@', so "@..." is never a literal. Throws
// std::invalid_argument naming what is wrong: an unreadable file (its path and
// the system's reason), empty stdin or file, more than 8 MiB of text (a run's
// input is at most 1 MiB), or text that is not JSON (with the line and column).
[[nodiscard]] Json read_run_input(std::string_view arg, std::istream& in);

}  // namespace steadfast::cli
