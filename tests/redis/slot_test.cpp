// Cluster routing, pure: slots, the routing key of each command steadfast
// sends, redirect replies, and the slot map read from CLUSTER SHARDS / SLOTS.
#include "redis/slot.h"

#include <gtest/gtest.h>

#include "redis/cluster_router.h"
#include "redis/pipeline.h"

namespace steadfast::redis {
namespace {

TEST(KeySlot, MatchesRedisForKnownKeys) {
  // Values from CLUSTER KEYSLOT on Redis 7.0.
  EXPECT_EQ(key_slot("123456789"), 12739);  // CRC16/XMODEM check value 0x31C3
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot(""), 0);
}

TEST(KeySlot, HashesOnlyTheFirstNonEmptyTag) {
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("sf:{3}:run:abc"), key_slot("3"));
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
  EXPECT_EQ(key_slot("foo{}{bar}"), key_slot("foo{}{bar}")) << "an empty first tag: the whole key";
  EXPECT_NE(key_slot("foo{}{bar}"), key_slot("bar"));
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
  EXPECT_EQ(key_slot("foo{bar"), key_slot("foo{bar")) << "no closing brace: the whole key";
}

std::vector<std::string_view> argv_of(const Pipeline& p, std::size_t i) { return command_argv(p.command_bytes(i)); }

TEST(RoutingKey, OfEachKindOfCommand) {
  Pipeline p;
  p.add("HSET", "sf:{1}:run:x", "f", "v");
  p.add("EVALSHA", "0123", 2, "sf:{2}:q:default", "sf:{2}:run:y", "arg");
  p.add("EVALSHA", "0123", 0, "arg");
  p.add("XREADGROUP", "GROUP", "g", "c", "COUNT", 10, "BLOCK", 0, "STREAMS", "sf:{4}:q:a", "sf:{4}:q:b", ">", ">");
  p.add("XGROUP", "CREATE", "sf:{5}:q:a", "g", "$", "MKSTREAM");
  p.add("XINFO", "STREAM", "sf:{6}:q:a");
  p.add("PING");
  p.add("WAIT", 1, 100);
  p.add("SCRIPT", "LOAD", "return 1");
  p.add("INFO", "commandstats");
  p.add("xreadgroup", "group", "g", "c", "streams", "k", ">");
  const std::vector<std::optional<std::string_view>> expected{
      "sf:{1}:run:x", "sf:{2}:q:default", std::nullopt, "sf:{4}:q:a", "sf:{5}:q:a", "sf:{6}:q:a",
      std::nullopt,   std::nullopt,       std::nullopt, std::nullopt, "k"};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(routing_key(argv_of(p, i)), expected[i]) << i;
    // route_of reads only what it needs and says the same.
    const Route route = route_of(p.command_bytes(i));
    EXPECT_EQ(route.slot, expected[i] ? key_slot(*expected[i]) : -1) << i;
    EXPECT_EQ(route.wait, i == 7) << i;
  }
}

TEST(CommandArgv, ReadsBackWhatThePipelineFormatted) {
  Pipeline p;
  const std::string binary("a\r\nb\0c", 6);
  p.add("SET", binary, "");
  const auto argv = argv_of(p, 0);
  ASSERT_EQ(argv.size(), 3U);
  EXPECT_EQ(argv[1], binary);
  EXPECT_EQ(argv[2], "");
  EXPECT_THROW((void)command_argv("PING\r\n"), std::invalid_argument);
  EXPECT_THROW((void)command_argv("*2\r\n$4\r\nPING\r\n"), std::invalid_argument);
  EXPECT_THROW((void)command_argv("*1\r\n$9\r\nPING\r\n"), std::invalid_argument);
  EXPECT_THROW((void)command_argv("*1\r\n$4\r\nPING\r\nX"), std::invalid_argument);
}

TEST(ParseRedirect, MovedAskAndOtherErrors) {
  auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved);
  EXPECT_FALSE(moved->ask);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->host, "127.0.0.1");
  EXPECT_EQ(moved->port, 6381);
  auto ask = parse_redirect("ASK 0 [::1]:7000");
  ASSERT_TRUE(ask);
  EXPECT_TRUE(ask->ask);
  EXPECT_EQ(ask->host, "::1");
  auto unknown_host = parse_redirect("MOVED 16383 :7000");
  ASSERT_TRUE(unknown_host);
  EXPECT_EQ(unknown_host->host, "");
  for (const char* other : {"ERR x", "MOVED", "MOVED 16384 h:1", "MOVED -1 h:1", "MOVED 1 h", "MOVED 1 h:0",
                            "MOVED 1 h:65536", "ASK x h:1", "CLUSTERDOWN Hash slot not served"}) {
    EXPECT_FALSE(parse_redirect(other)) << other;
  }
}

Reply str(std::string s) { return Reply::make_string(std::move(s)); }
Reply num(long long v) { return Reply::make_integer(v); }
Reply arr(std::vector<Reply> v) { return Reply::make_array(std::move(v)); }

Reply shard_node(std::string endpoint, long long port, std::string role) {
  return arr({str("id"), str("abc"), str("port"), num(port), str("ip"), str("10.0.0.9"), str("endpoint"),
              str(std::move(endpoint)), str("role"), str(std::move(role)), str("health"), str("online")});
}

TEST(ParseClusterShards, PrimariesOwnTheirRangesAndReplicasAreLeftOut) {
  const Reply reply = arr({
      arr({str("slots"), arr({num(0), num(5460)}), str("nodes"),
           arr({shard_node("127.0.0.1", 7000, "master"), shard_node("127.0.0.1", 7003, "replica")})}),
      // 7.0.14 sent string bounds; an empty endpoint means the node asked.
      arr({str("slots"), arr({str("5461"), str("10922"), str("16000"), str("16383")}), str("nodes"),
           arr({shard_node("", 7001, "master")})}),
  });
  const SlotMap map = parse_cluster_shards(reply, "seed.local", false);
  ASSERT_EQ(map.nodes.size(), 2U);
  EXPECT_EQ(map.nodes[0], (ClusterNode{"127.0.0.1", 7000, true}));
  EXPECT_EQ(map.nodes[1], (ClusterNode{"seed.local", 7001, true}));
  EXPECT_EQ(map.owner[0], 0);
  EXPECT_EQ(map.owner[5460], 0);
  EXPECT_EQ(map.owner[5461], 1);
  EXPECT_EQ(map.owner[10922], 1);
  EXPECT_EQ(map.owner[10923], -1) << "no shard serves it";
  EXPECT_EQ(map.owner[16383], 1);
  EXPECT_THROW((void)parse_cluster_shards(arr({arr({str("slots"), arr({num(0), num(16384)}), str("nodes"),
                                                    arr({shard_node("h", 1, "master")})})}),
                                          "h", false),
               ProtocolError);
  EXPECT_THROW((void)parse_cluster_shards(str("nope"), "h", false), ProtocolError);
}

TEST(ParseClusterSlots, RangesWithTheirPrimary) {
  const Reply reply = arr({
      arr({num(0), num(8191), arr({str("127.0.0.1"), num(7000), str("id0")}), arr({str("127.0.0.1"), num(7003)})}),
      arr({num(8192), num(16383), arr({str(""), num(7001), str("id1")})}),
  });
  const SlotMap map = parse_cluster_slots(reply, "seed");
  ASSERT_EQ(map.nodes.size(), 2U);
  EXPECT_EQ(map.nodes[1].host, "seed");
  EXPECT_EQ(map.owner[8191], 0);
  EXPECT_EQ(map.owner[8192], 1);
}

}  // namespace
}  // namespace steadfast::redis
