// Config::from_url and redacted_url: pure parsing, no Redis.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "redis/config.h"

namespace steadfast::redis {
namespace {

// The message of the std::invalid_argument that from_url(url) throws, or a
// test failure if it throws nothing.
std::string parse_error(const std::string& url) {
  try {
    (void)Config::from_url(url);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "from_url(\"" << url << "\") did not throw";
  return {};
}

TEST(ConfigUrl, HostOnlyUsesDefaults) {
  Config c = Config::from_url("redis://localhost");
  EXPECT_EQ(c.scheme, Config::Scheme::tcp);
  EXPECT_EQ(c.host, "localhost");
  EXPECT_EQ(c.port, 6379);
  EXPECT_EQ(c.db, 0);
  EXPECT_TRUE(c.user.empty());
  EXPECT_TRUE(c.password.empty());
}

TEST(ConfigUrl, UserPasswordHostPortDb) {
  Config c = Config::from_url("redis://alice:secret@redis.example:6380/3");
  EXPECT_EQ(c.scheme, Config::Scheme::tcp);
  EXPECT_EQ(c.user, "alice");
  EXPECT_EQ(c.password, "secret");
  EXPECT_EQ(c.host, "redis.example");
  EXPECT_EQ(c.port, 6380);
  EXPECT_EQ(c.db, 3);
}

TEST(ConfigUrl, PasswordWithoutUserMeansDefaultUser) {
  Config c = Config::from_url("redis://:secret@127.0.0.1:7000");
  EXPECT_TRUE(c.user.empty());
  EXPECT_EQ(c.password, "secret");
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 7000);
}

TEST(ConfigUrl, PercentEncodedPasswordIsDecoded) {
  Config c = Config::from_url("redis://bob:p%40ss%3Aw%2Frd%25@h:1");
  EXPECT_EQ(c.user, "bob");
  EXPECT_EQ(c.password, "p@ss:w/rd%");
}

TEST(ConfigUrl, TrailingSlashIsDbZero) {
  EXPECT_EQ(Config::from_url("redis://h:1/").db, 0);
  EXPECT_EQ(Config::from_url("redis://h:1/0").db, 0);
  EXPECT_EQ(Config::from_url("redis://h:1/15").db, 15);
}

TEST(ConfigUrl, DbQueryOption) {
  EXPECT_EQ(Config::from_url("redis://h:1?db=4").db, 4);
}

TEST(ConfigUrl, Ipv6Host) {
  Config c = Config::from_url("redis://[::1]:6390");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, 6390);
  EXPECT_EQ(c.redacted_url(), "redis://[::1]:6390");
}

TEST(ConfigUrl, RedissWithTlsOptions) {
  Config c = Config::from_url(
      "rediss://u:p@cache.example:6380/2?ca=/etc/ca.pem&cert=/etc/client.pem&key=/etc/client.key&sni=other.example&"
      "name=worker-1");
  EXPECT_EQ(c.scheme, Config::Scheme::tls);
  EXPECT_EQ(c.host, "cache.example");
  EXPECT_EQ(c.port, 6380);
  EXPECT_EQ(c.db, 2);
  EXPECT_EQ(c.tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(c.tls.cert_file, "/etc/client.pem");
  EXPECT_EQ(c.tls.key_file, "/etc/client.key");
  EXPECT_EQ(c.tls.server_name, "other.example");
  EXPECT_TRUE(c.tls.verify_peer);
  EXPECT_EQ(c.client_name, "worker-1");
}

TEST(ConfigUrl, RedissInsecure) {
  EXPECT_FALSE(Config::from_url("rediss://h?insecure=1").tls.verify_peer);
  EXPECT_FALSE(Config::from_url("rediss://h?insecure=true").tls.verify_peer);
  EXPECT_TRUE(Config::from_url("rediss://h?insecure=0").tls.verify_peer);
  EXPECT_TRUE(Config::from_url("rediss://h").tls.verify_peer);
}

TEST(ConfigUrl, UnixSocketWithDb) {
  Config c = Config::from_url("unix:///var/run/redis/redis.sock?db=2");
  EXPECT_EQ(c.scheme, Config::Scheme::unix_socket);
  EXPECT_EQ(c.path, "/var/run/redis/redis.sock");
  EXPECT_EQ(c.db, 2);
  EXPECT_EQ(c.redacted_url(), "unix:///var/run/redis/redis.sock?db=2");
}

TEST(ConfigUrl, UnixSocketWithPassword) {
  Config c = Config::from_url("unix://:secret@/tmp/r.sock");
  EXPECT_EQ(c.path, "/tmp/r.sock");
  EXPECT_EQ(c.password, "secret");
  EXPECT_EQ(c.redacted_url(), "unix://:***@/tmp/r.sock");
}

TEST(ConfigUrl, SentinelHostsMasterNameAndOptions) {
  const Config c = Config::from_url("redis+sentinel://alice:s3cret@s1.example:26380,s2.example,[::1]:26381/mymaster?db=2");
  EXPECT_EQ(c.scheme, Config::Scheme::tcp);
  EXPECT_EQ(c.sentinels, (std::vector<SentinelAddress>{{"s1.example", 26380}, {"s2.example", 26379}, {"::1", 26381}}));
  EXPECT_EQ(c.master_name, "mymaster");
  EXPECT_EQ(c.user, "alice");
  EXPECT_EQ(c.password, "s3cret");
  EXPECT_EQ(c.db, 2);
  EXPECT_EQ(c.redacted_url(), "redis+sentinel://alice:***@s1.example:26380,s2.example:26379,[::1]:26381/mymaster?db=2");
  const Config tls = Config::from_url("rediss+sentinel://127.0.0.1:26379/m.1?ca=/tmp/ca.pem");
  EXPECT_EQ(tls.scheme, Config::Scheme::tls);
  EXPECT_EQ(tls.tls.ca_file, "/tmp/ca.pem");
  EXPECT_EQ(tls.master_name, "m.1");
  EXPECT_TRUE(Config::from_url("redis://h").sentinels.empty());
}

TEST(ConfigUrl, RejectsBadSentinelUrlsSayingWhat) {
  EXPECT_NE(parse_error("redis+sentinel://h1,h2").find("needs the master's name after the hosts"), std::string::npos);
  EXPECT_NE(parse_error("redis+sentinel://h1,h2/").find("needs the master's name"), std::string::npos);
  EXPECT_NE(parse_error("redis+sentinel://h1,,h2/m").find("an empty Sentinel address"), std::string::npos);
  EXPECT_NE(parse_error("redis+sentinel://h1:0/m").find("invalid Sentinel port '0'"), std::string::npos);
  EXPECT_NE(parse_error("redis+sentinel://h1:x/m").find("invalid Sentinel port 'x'"), std::string::npos);
  EXPECT_NE(parse_error("redis+sentinel://h1/m a").find("invalid master name 'm a'"), std::string::npos);
  const std::string unknown = parse_error("redis+sentinel://h1/m?nope=1");
  EXPECT_NE(unknown.find("'redis+sentinel://h1/m?nope=1': unknown option 'nope'"), std::string::npos) << unknown;
  const std::string secret = parse_error("redis+sentinel://u:hunter2@h1:99999/m");
  EXPECT_EQ(secret.find("hunter2"), std::string::npos) << secret;
  EXPECT_NE(secret.find("invalid Sentinel port"), std::string::npos) << secret;
}

TEST(ConfigUrl, ClusterSeedNodesAndOptions) {
  const Config c = Config::from_url("redis+cluster://bob:pw@n1.example:7000,n2.example,[::1]:7002/?name=w1");
  EXPECT_EQ(c.scheme, Config::Scheme::tcp);
  EXPECT_EQ(c.cluster_nodes, (std::vector<SentinelAddress>{{"n1.example", 7000}, {"n2.example", 6379}, {"::1", 7002}}));
  EXPECT_TRUE(c.sentinels.empty());
  EXPECT_EQ(c.user, "bob");
  EXPECT_EQ(c.password, "pw");
  EXPECT_EQ(c.client_name, "w1");
  EXPECT_EQ(c.redacted_url(), "redis+cluster://bob:***@n1.example:7000,n2.example:6379,[::1]:7002");
  const Config tls = Config::from_url("rediss+cluster://127.0.0.1:7000?ca=/tmp/ca.pem");
  EXPECT_EQ(tls.scheme, Config::Scheme::tls);
  EXPECT_EQ(tls.tls.ca_file, "/tmp/ca.pem");
  EXPECT_EQ(tls.redacted_url(), "rediss+cluster://127.0.0.1:7000");
  EXPECT_TRUE(Config::from_url("redis://h").cluster_nodes.empty());
}

TEST(ConfigUrl, RejectsBadClusterUrlsSayingWhat) {
  EXPECT_NE(parse_error("redis+cluster://h1/0").find("takes no path"), std::string::npos);
  EXPECT_NE(parse_error("redis+cluster://h1?db=2").find("database 0 only"), std::string::npos);
  EXPECT_NE(parse_error("redis+cluster://h1,,h2").find("an empty cluster node address"), std::string::npos);
  EXPECT_NE(parse_error("redis+cluster://h1:0").find("invalid cluster node port '0'"), std::string::npos);
  const std::string secret = parse_error("redis+cluster://u:hunter2@h1:99999");
  EXPECT_EQ(secret.find("hunter2"), std::string::npos) << secret;
  EXPECT_NE(secret.find("invalid cluster node port"), std::string::npos) << secret;
}

TEST(ConfigUrl, RejectsUnknownScheme) {
  const std::string msg = parse_error("http://localhost:6379");
  EXPECT_NE(msg.find("unsupported scheme 'http'"), std::string::npos) << msg;
}

TEST(ConfigUrl, RejectsNonUrl) {
  const std::string msg = parse_error("localhost 6379");
  EXPECT_NE(msg.find("invalid Redis URL"), std::string::npos) << msg;
}

TEST(ConfigUrl, RejectsBadPort) {
  for (const char* url : {"redis://h:0", "redis://h:65536", "redis://h:99999999999", "redis://h:"}) {
    const std::string msg = parse_error(url);
    EXPECT_NE(msg.find("invalid port"), std::string::npos) << url << ": " << msg;
  }
  EXPECT_NE(parse_error("redis://h:abc").find("invalid port 'abc'"), std::string::npos) << parse_error("redis://h:abc");
  // Boost.URL reads this as port 6379 and path "x5"; it must not become db 5.
  EXPECT_NE(parse_error("redis://h:6379x5").find("invalid port '6379x5'"), std::string::npos)
      << parse_error("redis://h:6379x5");
  EXPECT_NE(parse_error("redis://h:12x/3").find("invalid port '12x'"), std::string::npos);
}

TEST(ConfigUrl, RejectsBadDb) {
  for (const char* url : {"redis://h:1/abc", "redis://h:1/-1", "redis://h:1/3/4", "redis://h:1?db=x",
                          "unix:///tmp/s?db=-2"}) {
    const std::string msg = parse_error(url);
    EXPECT_NE(msg.find("invalid database number"), std::string::npos) << url << ": " << msg;
  }
}

TEST(ConfigUrl, RejectsUnknownOption) {
  const std::string msg = parse_error("redis://h?timeout=5");
  EXPECT_NE(msg.find("unknown option 'timeout'"), std::string::npos) << msg;
}

TEST(ConfigUrl, TlsOptionsOnlyWithRediss) {
  EXPECT_NE(parse_error("redis://h?ca=/ca.pem").find("unknown option 'ca'"), std::string::npos);
  EXPECT_NE(parse_error("unix:///s?insecure=1").find("unknown option 'insecure'"), std::string::npos);
}

TEST(ConfigUrl, UnixSocketNeedsPath) {
  const std::string msg = parse_error("unix://");
  EXPECT_NE(msg.find("needs a socket path"), std::string::npos) << msg;
}

TEST(ConfigUrl, RedactedUrlHidesPassword) {
  Config c = Config::from_url("redis://alice:s3cr%40t@h:6380/5");
  const std::string r = c.redacted_url();
  EXPECT_EQ(r, "redis://alice:***@h:6380/5");
  EXPECT_EQ(r.find("s3cr"), std::string::npos);
}

TEST(ConfigUrl, RedactedUrlWithoutCredentials) {
  EXPECT_EQ(Config::from_url("redis://h").redacted_url(), "redis://h:6379");
  EXPECT_EQ(Config::from_url("rediss://h:1?ca=/x").redacted_url(), "rediss://h:1");
  EXPECT_EQ(Config::from_url("redis://:pw@h:2").redacted_url(), "redis://:***@h:2");
}

// Issue 13 item 8: no error of URL parsing shows any part of a password —
// unencoded ones included, whose '/', '?', '#', ':' or '@' move where a
// parser thinks the userinfo ends (the security review's reproductions are
// the first two).
TEST(ConfigUrl, ErrorsNeverShowAnyPartOfThePassword) {
  for (const char* url : {
           "redis://u:12/ss-SECRETTAIL@127.0.0.1:1",      // port 12, path "/ss-SECRETTAIL@..."
           "redis://u:99?ss-SECRETTAIL@127.0.0.1:1",      // port 99, query "ss-SECRETTAIL@..."
           "redis://u:99#ss-SECRETTAIL@127.0.0.1:1",      // fragment
           "redis://u:SECRETTAIL@127.0.0.1:1/db-x",
           "redis://u:SECRETTAIL@127.0.0.1:1?opt=1",
           "redis://u:SECRETTAIL@127.0.0.1:1?db=x",
           "redis://u:SECRETTAIL@127.0.0.1:port",
           "redis://u:SECRET TAIL@127.0.0.1:1",            // not a URL at all
           "redis://u:SECRETTAIL@@127.0.0.1:1",
           "redis://u:pw@SECRETTAIL@127.0.0.1:x",          // '@' in the password, bad port
           "http://u:SECRETTAIL@127.0.0.1:1",
           "unix://u:SECRETTAIL@",
           "u:SECRETTAIL@127.0.0.1:1",
       }) {
    const std::string msg = parse_error(url);
    EXPECT_EQ(msg.find("SECRET"), std::string::npos) << url << " -> " << msg;
    EXPECT_EQ(msg.find("TAIL"), std::string::npos) << url << " -> " << msg;
    EXPECT_TRUE(msg.starts_with("invalid Redis URL '")) << url << " -> " << msg;
  }
  // The URL is shown from the last '@' on, so the user still sees which one it was.
  const std::string msg = parse_error("redis://u:12/ss-SECRETTAIL@127.0.0.1:1");
  EXPECT_NE(msg.find("'redis://***@127.0.0.1:1'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("invalid database number"), std::string::npos) << msg;
}

// Issue 13 item 7: the URL in an error is quoted, its control characters
// escaped, so it cannot forge a log line or drive a terminal.
TEST(ConfigUrl, ErrorsQuoteTheUrlAndEscapeControlCharacters) {
  const std::string msg = parse_error("redis://h:1/x\n\x1b[2JFAKE LINE");
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\x1b'), std::string::npos) << msg;
  const std::string bad_port = parse_error("redis://h:1\x1b[2J");
  EXPECT_EQ(bad_port.find('\x1b'), std::string::npos) << bad_port;
  EXPECT_NE(bad_port.find("\\x1b"), std::string::npos) << bad_port;
}

// Issue 13 item 8: insecure=1 shows in the redacted URL and gives the
// warning processes log at start; verification on gives none.
TEST(ConfigUrl, InsecureTlsIsVisible) {
  const Config off = Config::from_url("rediss://:pw@h:1?insecure=1");
  EXPECT_EQ(off.redacted_url(), "rediss://:***@h:1 (certificate verification off)");
  ASSERT_TRUE(off.insecure_warning().has_value());
  EXPECT_NE(off.insecure_warning()->find("does not verify"), std::string::npos) << *off.insecure_warning();
  EXPECT_EQ(off.insecure_warning()->find("pw"), std::string::npos) << *off.insecure_warning();
  EXPECT_FALSE(Config::from_url("rediss://h:1").insecure_warning().has_value());
  EXPECT_FALSE(Config::from_url("rediss://h:1?insecure=0").insecure_warning().has_value());
  EXPECT_FALSE(Config::from_url("redis://h:1").insecure_warning().has_value());
}

}  // namespace
}  // namespace steadfast::redis
