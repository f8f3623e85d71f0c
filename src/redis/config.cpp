#include "redis/config.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <charconv>
#include <stdexcept>

namespace steadfast::redis {

namespace {

// The URL as an error may show it: quoted, control characters as \xNN, and
// everything from "://" to the last '@' replaced by "***" — the last '@',
// because an unencoded password may hold '@', '/', '?' or '#' and then
// parsers (and people) disagree on where the userinfo ends.
std::string shown_url(std::string_view text) {
  std::string masked(text);
  const auto scheme_end = masked.find("://");
  const auto at = masked.rfind('@');
  if (scheme_end != std::string::npos && at != std::string::npos && at > scheme_end) {
    masked = masked.substr(0, scheme_end + 3) + "***" + masked.substr(at);
  } else if (at != std::string::npos) {
    masked = "***" + masked.substr(at);
  }
  if (masked.size() > 200) masked = masked.substr(0, 200) + "...";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (const char ch : masked) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += ch;
    }
  }
  return out + "'";
}

// Builds the errors of one URL. A part of the URL (a port, a database
// number, an option's name) is echoed only when the URL has no '@': with
// userinfo, any part may hold a piece of a password that was not
// percent-encoded ("redis://u:12/ss-SECRET@h" reads as port 12 and path
// "/ss-SECRET@h"), so the message names what is wrong without the text.
class UrlErrors {
 public:
  explicit UrlErrors(std::string_view url) : url_(url), may_hold_secret_(url.find('@') != std::string_view::npos) {}

  // "invalid Redis URL '<shown>': <what>[ '<part>'][<hint>]"
  [[noreturn]] void fail(const std::string& what, std::string_view part = {}, const std::string& hint = {}) const {
    std::string message = "invalid Redis URL " + shown_url(url_) + ": " + what;
    if (!part.empty() && !may_hold_secret_) message += " '" + escaped(part) + "'";
    throw std::invalid_argument(message + hint);
  }

  int parse_int(std::string_view text, const std::string& what, int lo, int hi) const {
    int v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi) {
      fail("invalid " + what, text,
           " (expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi) + ")");
    }
    return v;
  }

 private:
  static std::string escaped(std::string_view part) {
    std::string out;
    for (const char ch : part.substr(0, 100)) {
      const auto byte = static_cast<unsigned char>(ch);
      out += byte < 0x20 || byte == 0x7f ? '?' : ch;
    }
    return out;
  }

  std::string_view url_;
  bool may_hold_secret_;
};

// A comma-separated host list: "h1[:p1],[v6]:p2,...", each port defaulting
// to default_port. `what` names an entry in errors ("Sentinel", "cluster node").
std::vector<SentinelAddress> parse_host_list(std::string_view hosts, std::uint16_t default_port,
                                             const std::string& what, const UrlErrors& errors) {
  std::vector<SentinelAddress> out;
  std::size_t start = 0;
  while (start <= hosts.size()) {
    const std::size_t comma = std::min(hosts.find(',', start), hosts.size());
    const std::string_view one = hosts.substr(start, comma - start);
    if (one.empty()) errors.fail("an empty " + what + " address in the host list");
    SentinelAddress s;
    s.port = default_port;
    std::string_view port;
    if (one.front() == '[') {  // [IPv6]:port
      const std::size_t close = one.find(']');
      if (close == std::string_view::npos) errors.fail("invalid " + what + " address", one);
      s.host = std::string(one.substr(1, close - 1));
      if (close + 1 < one.size()) {
        if (one[close + 1] != ':') errors.fail("invalid " + what + " address", one);
        port = one.substr(close + 2);
      }
    } else {
      const std::size_t colon = one.rfind(':');
      s.host = std::string(one.substr(0, colon));
      if (colon != std::string_view::npos) port = one.substr(colon + 1);
    }
    if (s.host.empty()) errors.fail("invalid " + what + " address", one);
    if (!port.empty() || one.back() == ':') {
      s.port = static_cast<std::uint16_t>(errors.parse_int(port, what + " port", 1, 65535));
    }
    out.push_back(std::move(s));
    start = comma + 1;
  }
  return out;
}

// redis+sentinel://[userinfo@]h1[:p1],h2[:p2]/MASTER[?query] and
// redis+cluster://[userinfo@]h1[:p1],h2[:p2][/][?query]: the host list (and
// the master name) are taken out, and the rest (scheme, userinfo, query) is
// parsed as a redis:// or rediss:// URL.
Config from_host_list_url(std::string_view text, bool cluster, const UrlErrors& errors) {
  const bool tls = text.starts_with("rediss+");
  std::string_view rest = text.substr(text.find("://") + 3);
  const std::size_t at = rest.rfind('@');
  const std::string_view userinfo = at == std::string_view::npos ? std::string_view() : rest.substr(0, at + 1);
  rest = at == std::string_view::npos ? rest : rest.substr(at + 1);
  const std::size_t hosts_end = std::min(rest.find('/'), rest.find('?'));
  const std::string_view hosts = rest.substr(0, hosts_end);
  std::string_view tail = hosts_end == std::string_view::npos ? std::string_view() : rest.substr(hosts_end);
  std::string master;
  if (tail.starts_with('/')) {
    const std::size_t q = tail.find('?');
    master = std::string(tail.substr(1, q == std::string_view::npos ? std::string_view::npos : q - 1));
    tail = q == std::string_view::npos ? std::string_view() : tail.substr(q);
  }
  if (cluster) {
    if (!master.empty()) {
      errors.fail("a redis+cluster:// URL takes no path (a cluster has database 0 only)", master);
    }
  } else {
    if (master.empty()) errors.fail("a redis+sentinel:// URL needs the master's name after the hosts (.../mymaster)");
    for (const char ch : master) {
      const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                      ch == '-' || ch == '.';
      if (!ok) errors.fail("invalid master name", master, " (use A-Z a-z 0-9 _ - .)");
    }
  }
  std::vector<SentinelAddress> addresses =
      parse_host_list(hosts, cluster ? 6379 : 26379, cluster ? "cluster node" : "Sentinel", errors);
  // The rest parses as a plain URL with a stand-in host (the primary is found later).
  Config c = Config::from_url(std::string(tls ? "rediss://" : "redis://") + std::string(userinfo) + "sentinel" +
                              std::string(tail));
  c.host.clear();
  c.port = 0;
  if (cluster) {
    if (c.db != 0) errors.fail("a Redis Cluster has database 0 only: drop the db option");
    c.cluster_nodes = std::move(addresses);
  } else {
    c.sentinels = std::move(addresses);
    c.master_name = std::move(master);
  }
  return c;
}

}  // namespace

Config Config::from_url(std::string_view text) {
  const UrlErrors errors(text);
  const bool sentinel = text.starts_with("redis+sentinel://") || text.starts_with("rediss+sentinel://");
  const bool cluster = text.starts_with("redis+cluster://") || text.starts_with("rediss+cluster://");
  if (sentinel || cluster) {
    try {
      return from_host_list_url(text, cluster, errors);
    } catch (const std::invalid_argument& e) {
      // An error of the rebuilt plain URL: say it of the one given.
      const std::string what = e.what();
      if (what.find(shown_url(text)) != std::string::npos) throw;
      const std::size_t colon = what.find("': ");
      errors.fail(colon == std::string::npos ? what : what.substr(colon + 3));
    }
  }
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) errors.fail(parsed.error().message());
  const boost::urls::url_view& u = *parsed;
  Config c;
  const std::string scheme = u.scheme();
  if (scheme == "redis") {
    c.scheme = Scheme::tcp;
  } else if (scheme == "rediss") {
    c.scheme = Scheme::tls;
  } else if (scheme == "unix") {
    c.scheme = Scheme::unix_socket;
  } else {
    errors.fail("unsupported scheme", scheme, " (use redis://, rediss://, unix://, redis+sentinel:// or redis+cluster://)");
  }

  if (u.has_userinfo()) {
    c.user = u.user();
    c.password = u.password();
    // redis://:password@host means "default user with this password".
  }

  if (c.scheme == Scheme::unix_socket) {
    c.path = u.path();
    if (c.path.empty()) errors.fail("a unix:// Redis URL needs a socket path");
    c.host.clear();
    c.port = 0;
  } else {
    if (!u.host().empty()) c.host = u.host();
    if (c.host.size() > 2 && c.host.front() == '[' && c.host.back() == ']') {
      c.host = c.host.substr(1, c.host.size() - 2);
    }
    std::string path = u.path();
    // Boost.URL 1.81 reads "host:12x5" as port "12" and path "x5" (a path after
    // an authority must start with '/'): that is a bad port, not db 5.
    if (!path.empty() && path.front() != '/') {
      errors.fail("invalid port", std::string(u.port()) + path.substr(0, path.find('/')),
                  " (expected an integer in 1..65535)");
    }
    if (u.has_port()) c.port = static_cast<std::uint16_t>(errors.parse_int(u.port(), "port", 1, 65535));
    if (!path.empty() && path != "/") {
      c.db = errors.parse_int(std::string_view(path).substr(1), "database number", 0, 1 << 20);
    }
  }
  if (u.has_fragment()) errors.fail("a Redis URL takes no fragment ('#')");

  for (auto param : u.params()) {
    const std::string& key = param.key;
    const std::string& value = param.value;
    if (key == "db") {
      c.db = errors.parse_int(value, "database number", 0, 1 << 20);
    } else if (key == "name") {
      c.client_name = value;
    } else if (c.scheme == Scheme::tls && key == "ca") {
      c.tls.ca_file = value;
    } else if (c.scheme == Scheme::tls && key == "cert") {
      c.tls.cert_file = value;
    } else if (c.scheme == Scheme::tls && key == "key") {
      c.tls.key_file = value;
    } else if (c.scheme == Scheme::tls && key == "sni") {
      c.tls.server_name = value;
    } else if (c.scheme == Scheme::tls && key == "insecure") {
      c.tls.verify_peer = !(value == "1" || value == "true");
    } else {
      errors.fail("unknown option", key);
    }
  }
  return c;
}

std::string Config::redacted_url() const {
  std::string out;
  switch (scheme) {
    case Scheme::tcp: out = !sentinels.empty() ? "redis+sentinel://" : !cluster_nodes.empty() ? "redis+cluster://" : "redis://"; break;
    case Scheme::tls: out = !sentinels.empty() ? "rediss+sentinel://" : !cluster_nodes.empty() ? "rediss+cluster://" : "rediss://"; break;
    case Scheme::unix_socket: out = "unix://"; break;
  }
  if (!user.empty() || !password.empty()) {
    out += user;
    if (!password.empty()) out += ":***";
    out += '@';
  }
  const auto host_port = [](const std::string& h, std::uint16_t p) {
    return (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ':' + std::to_string(p);
  };
  if (!sentinels.empty()) {
    for (std::size_t i = 0; i < sentinels.size(); ++i) out += (i ? "," : "") + host_port(sentinels[i].host, sentinels[i].port);
    out += '/' + master_name;
    if (db != 0) out += "?db=" + std::to_string(db);
  } else if (!cluster_nodes.empty()) {
    for (std::size_t i = 0; i < cluster_nodes.size(); ++i) {
      out += (i ? "," : "") + host_port(cluster_nodes[i].host, cluster_nodes[i].port);
    }
  } else if (scheme == Scheme::unix_socket) {
    out += path;
    if (db != 0) out += "?db=" + std::to_string(db);
  } else {
    out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
    out += ':' + std::to_string(port);
    if (db != 0) out += '/' + std::to_string(db);
  }
  if (scheme == Scheme::tls && !tls.verify_peer) out += " (certificate verification off)";
  return out;
}

std::optional<std::string> Config::insecure_warning() const {
  if (scheme != Scheme::tls || tls.verify_peer) return std::nullopt;
  return "TLS to Redis at " + redacted_url() +
         " does not verify the server's certificate (insecure=1): anyone on the path can read and change "
         "the traffic, including the password; use it for tests only";
}

}  // namespace steadfast::redis
