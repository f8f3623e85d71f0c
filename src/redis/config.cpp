#include "redis/config.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <charconv>
#include <stdexcept>

namespace steadfast::redis {

namespace {

int parse_int(std::string_view text, std::string_view what, int lo, int hi) {
  int v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi) {
    throw std::invalid_argument("invalid " + std::string(what) + " '" + std::string(text) +
                                "' (expected an integer in " + std::to_string(lo) + ".." +
                                std::to_string(hi) + ")");
  }
  return v;
}

}  // namespace

Config Config::from_url(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    // Never echo a password: drop the userinfo from the message.
    std::string shown(text);
    const auto scheme_end = shown.find("://");
    const auto at = shown.find('@');
    if (scheme_end != std::string::npos && at != std::string::npos && at > scheme_end) {
      shown = shown.substr(0, scheme_end + 3) + "***@" + shown.substr(at + 1);
    }
    throw std::invalid_argument("invalid Redis URL '" + shown + "': " + parsed.error().message());
  }
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
    throw std::invalid_argument("unsupported scheme '" + scheme + "' in Redis URL (use redis://, rediss:// or unix://)");
  }

  if (u.has_userinfo()) {
    c.user = u.user();
    c.password = u.password();
    // redis://:password@host means "default user with this password".
  }

  if (c.scheme == Scheme::unix_socket) {
    c.path = u.path();
    if (c.path.empty()) throw std::invalid_argument("unix:// Redis URL needs a socket path");
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
      throw std::invalid_argument("invalid port '" + std::string(u.port()) + path.substr(0, path.find('/')) +
                                  "' (expected an integer in 1..65535)");
    }
    if (u.has_port()) c.port = static_cast<std::uint16_t>(parse_int(u.port(), "port", 1, 65535));
    if (!path.empty() && path != "/") {
      c.db = parse_int(std::string_view(path).substr(1), "database number", 0, 1 << 20);
    }
  }

  for (auto param : u.params()) {
    const std::string& key = param.key;
    const std::string& value = param.value;
    if (key == "db") {
      c.db = parse_int(value, "database number", 0, 1 << 20);
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
      throw std::invalid_argument("unknown Redis URL option '" + key + "'");
    }
  }
  return c;
}

std::string Config::redacted_url() const {
  std::string out;
  switch (scheme) {
    case Scheme::tcp: out = "redis://"; break;
    case Scheme::tls: out = "rediss://"; break;
    case Scheme::unix_socket: out = "unix://"; break;
  }
  if (!user.empty() || !password.empty()) {
    out += user;
    if (!password.empty()) out += ":***";
    out += '@';
  }
  if (scheme == Scheme::unix_socket) {
    out += path;
    if (db != 0) out += "?db=" + std::to_string(db);
  } else {
    out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
    out += ':' + std::to_string(port);
    if (db != 0) out += '/' + std::to_string(db);
  }
  return out;
}

}  // namespace steadfast::redis
