#include "store/server_stats.h"

#include <charconv>
#include <cstdlib>

namespace steadfast::store {

namespace asio = boost::asio;

asio::awaitable<void> reset_server_stats(redis::Client& client) {
  co_await client.command("CONFIG", "RESETSTAT");
}

asio::awaitable<CommandCalls> command_calls(redis::Client& client) {
  redis::Reply r = co_await client.command("INFO", "commandstats");
  co_return parse_commandstats(r.str());
}

asio::awaitable<CommandCalls> command_usec(redis::Client& client) {
  redis::Reply r = co_await client.command("INFO", "commandstats");
  co_return parse_commandstats(r.str(), "usec");
}

asio::awaitable<double> server_cpu_seconds(redis::Client& client) {
  redis::Reply r = co_await client.command("INFO", "cpu");
  co_return parse_cpu_seconds(r.str());
}

CommandCalls parse_commandstats(std::string_view info, std::string_view field) {
  constexpr std::string_view kPrefix = "cmdstat_";
  const std::string key = std::string(field) + "=";
  CommandCalls calls;
  while (!info.empty()) {
    const std::size_t eol = info.find('\n');
    std::string_view line = info.substr(0, eol);
    info = eol == std::string_view::npos ? std::string_view() : info.substr(eol + 1);
    if (!line.starts_with(kPrefix)) continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    // The field, as a whole name: after the colon or a comma ("usec=" is not "usec_per_call=").
    std::size_t at = colon + 1;
    while (at < line.size() && line.substr(at, key.size()) != key) {
      const std::size_t comma = line.find(',', at);
      if (comma == std::string_view::npos) {
        at = line.size();
        break;
      }
      at = comma + 1;
    }
    if (at >= line.size()) continue;
    const std::string_view number = line.substr(at + key.size());
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
    if (ec != std::errc() || end == number.data()) continue;
    calls[std::string(line.substr(kPrefix.size(), colon - kPrefix.size()))] += n;
  }
  return calls;
}

double parse_cpu_seconds(std::string_view info) {
  double sum = 0;
  for (const std::string_view name : {"used_cpu_user:", "used_cpu_sys:"}) {
    const std::size_t at = info.find(name);
    if (at != std::string_view::npos) sum += std::atof(std::string(info.substr(at + name.size(), 32)).c_str());
  }
  return sum;
}

}  // namespace steadfast::store
