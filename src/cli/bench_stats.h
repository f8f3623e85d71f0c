// The arithmetic of `steadfast bench`, apart from its processes and sockets.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace steadfast::cli {

// The q-quantile (0 <= q <= 1) of `values` by the nearest-rank method: the
// smallest value with at least q of the values at or below it. 0 when empty.
// Sorts `values`.
double quantile(std::vector<double>& values, double q);

// a - b per command, dropping commands whose difference is zero or less.
std::map<std::string, std::int64_t> subtract_calls(std::map<std::string, std::int64_t> a,
                                                   const std::map<std::string, std::int64_t>& b);

// Rounds to `digits` decimals (for readable JSON numbers).
double round_to(double v, int digits);

}  // namespace steadfast::cli
