#include "cli/bench_stats.h"

#include <algorithm>
#include <cmath>

namespace steadfast::cli {

double quantile(std::vector<double>& values, double q) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size()));
  const std::size_t index = rank < 1.0 ? 0 : static_cast<std::size_t>(rank) - 1;
  return values[std::min(index, values.size() - 1)];
}

std::map<std::string, std::int64_t> subtract_calls(std::map<std::string, std::int64_t> a,
                                                   const std::map<std::string, std::int64_t>& b) {
  for (const auto& [name, n] : b) {
    auto it = a.find(name);
    if (it != a.end()) it->second -= n;
  }
  std::erase_if(a, [](const auto& kv) { return kv.second <= 0; });
  return a;
}

double round_to(double v, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}

}  // namespace steadfast::cli
