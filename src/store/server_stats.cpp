#include "store/server_stats.h"

#include <charconv>
#include <cstdlib>

namespace steadfast::store {

namespace asio = boost::asio;

namespace {

// One command on every primary (one server: that one); each primary's reply, error replies thrown.
asio::awaitable<std::vector<redis::Reply>> on_every_primary(redis::Client& client, std::string_view a,
                                                            std::string_view b) {
  redis::Pipeline p;
  p.add(a, b);
  std::vector<redis::Reply> out;
  for (std::vector<redis::Reply>& node : co_await client.exec_on_primaries(std::move(p))) {
    if (node[0].is_error()) throw redis::ServerError(std::string(node[0].str()));
    out.push_back(std::move(node[0]));
  }
  co_return out;
}

asio::awaitable<CommandCalls> commandstats(redis::Client& client, std::string_view field) {
  CommandCalls sum;
  for (const redis::Reply& r : co_await on_every_primary(client, "INFO", "commandstats")) {
    for (const auto& [name, n] : parse_commandstats(r.str(), field)) sum[name] += n;
  }
  co_return sum;
}

}  // namespace

asio::awaitable<void> reset_server_stats(redis::Client& client) {
  co_await on_every_primary(client, "CONFIG", "RESETSTAT");
}

asio::awaitable<CommandCalls> command_calls(redis::Client& client) { return commandstats(client, "calls"); }

asio::awaitable<CommandCalls> command_usec(redis::Client& client) { return commandstats(client, "usec"); }

asio::awaitable<double> server_cpu_seconds(redis::Client& client) {
  double sum = 0;
  for (const redis::Reply& r : co_await on_every_primary(client, "INFO", "cpu")) sum += parse_cpu_seconds(r.str());
  co_return sum;
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
