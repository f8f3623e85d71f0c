#include "cli/text_table.h"

#include <algorithm>
#include <cstdio>

#include "engine/quote.h"

namespace steadfast::cli {

void TextTable::add(std::vector<std::string> cells) {
  for (std::string& c : cells) c = engine::printable(c);
  rows_.push_back(std::move(cells));
}

void TextTable::print(std::ostream& out) const {
  std::vector<std::size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
  }
  for (const auto& row : rows_) {
    std::string line(indent_, ' ');
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - display_width(row[i]) + gap_, ' ');
    }
    // Trailing empty cells would leave trailing blanks.
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
}

std::size_t display_width(std::string_view text) noexcept {
  std::size_t n = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;  // not a UTF-8 continuation byte
  }
  return n;
}

std::string format_elapsed_ms(std::int64_t ms) {
  ms = std::max<std::int64_t>(ms, 0);
  char buf[32];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  } else if (ms < 60'000) {
    // Tenths, truncated: 59.99 s stays "59.9s", never "60.0s".
    std::snprintf(buf, sizeof buf, "%lld.%llds", static_cast<long long>(ms / 1000),
                  static_cast<long long>(ms % 1000 / 100));
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(ms / 60'000),
                  static_cast<long long>(ms % 60'000 / 1000));
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>(ms % 3'600'000 / 60'000));
  }
  return buf;
}

std::string describe_waiting_for(const Json& w) {
  if (!w.is_object()) return "";
  std::string out = w.value("kind", std::string("?"));
  const auto until = w.find("until");
  if (until != w.end() && until->is_string()) out += " until " + until->get<std::string>();
  for (const auto& [k, v] : w.items()) {
    if (k == "kind" || k == "until" || v.is_null()) continue;
    out += " " + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

}  // namespace steadfast::cli
