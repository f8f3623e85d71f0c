// Pipeline formatting: the bytes must be exactly the RESP Redis expects. No Redis.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <climits>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "redis/pipeline.h"
#include "redis/script.h"

namespace steadfast::redis {
namespace {

using namespace std::string_literals;

TEST(Pipeline, StartsEmpty) {
  Pipeline p;
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(p.size(), 0u);
  EXPECT_EQ(p.bytes(), "");
}

TEST(Pipeline, FormatsStringArguments) {
  Pipeline p;
  p.add("SET", "key", "value");
  EXPECT_EQ(p.bytes(), "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
  EXPECT_EQ(p.size(), 1u);
}

TEST(Pipeline, FormatsIntegersInBase10) {
  Pipeline p;
  p.add("EXPIRE", std::string("k"), 60);
  p.add("INCRBY", std::string_view("k"), -7LL);
  p.add("X", LLONG_MIN, ULLONG_MAX, 0u);
  EXPECT_EQ(p.command_bytes(0), "*3\r\n$6\r\nEXPIRE\r\n$1\r\nk\r\n$2\r\n60\r\n");
  EXPECT_EQ(p.command_bytes(1), "*3\r\n$6\r\nINCRBY\r\n$1\r\nk\r\n$2\r\n-7\r\n");
  EXPECT_EQ(p.command_bytes(2),
            "*4\r\n$1\r\nX\r\n$20\r\n-9223372036854775808\r\n$20\r\n18446744073709551615\r\n$1\r\n0\r\n");
}

TEST(Pipeline, EmptyAndBinaryArguments) {
  Pipeline p;
  const std::string binary = "a\0b\r\nc"s;
  p.add("SET", "", binary);
  EXPECT_EQ(p.bytes(), "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$6\r\n"s + binary + "\r\n");
}

TEST(Pipeline, ManyCommandsConcatenateInOrder) {
  Pipeline p;
  p.add("PING");
  p.add("GET", "a");
  p.add("DEL", "a", "b");
  const std::string ping = "*1\r\n$4\r\nPING\r\n";
  const std::string get = "*2\r\n$3\r\nGET\r\n$1\r\na\r\n";
  const std::string del = "*3\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\n";
  EXPECT_EQ(p.size(), 3u);
  EXPECT_EQ(p.bytes(), ping + get + del);
  EXPECT_EQ(p.command_bytes(0), ping);
  EXPECT_EQ(p.command_bytes(1), get);
  EXPECT_EQ(p.command_bytes(2), del);
  EXPECT_THROW((void)p.command_bytes(3), std::out_of_range);
}

TEST(Pipeline, AddArgvFromVectors) {
  std::vector<std::string> owned = {"HSET", "h", "f", "v"};
  std::vector<std::string_view> views = {"HGET", "h", "f"};
  Pipeline p;
  p.add_argv(owned);
  p.add_argv(views);
  EXPECT_EQ(p.bytes(), "*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n$1\r\nv\r\n*3\r\n$4\r\nHGET\r\n$1\r\nh\r\n$1\r\nf\r\n");
}

TEST(Pipeline, MoreArgumentsThanTheStackBuffer) {
  std::vector<std::string> argv = {"RPUSH", "list"};
  for (int i = 0; i < 40; ++i) argv.push_back(std::to_string(i));
  Pipeline p;
  p.add_argv(argv);
  std::string expected = "*42\r\n$5\r\nRPUSH\r\n$4\r\nlist\r\n";
  for (int i = 0; i < 40; ++i) {
    const std::string s = std::to_string(i);
    expected += "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
  }
  EXPECT_EQ(p.bytes(), expected);
}

TEST(Pipeline, EmptyCommandIsRejected) {
  Pipeline p;
  EXPECT_THROW(p.add_argv(std::vector<std::string>{}), std::invalid_argument);
  EXPECT_THROW(p.add_argv(std::vector<std::string_view>{}), std::invalid_argument);
  EXPECT_TRUE(p.empty());
}

TEST(Pipeline, EvalShaOfAScript) {
  Script script("one", "return 1");
  EXPECT_EQ(script.sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  EXPECT_EQ(script.name(), "one");

  Pipeline p;
  p.add("PING");
  std::vector<std::string> keys = {"k1"};
  std::vector<std::string> args = {"a1", "a2"};
  p.add_eval(script, keys, args);
  p.add("PING");
  EXPECT_EQ(p.command_bytes(1),
            "*6\r\n$7\r\nEVALSHA\r\n$40\r\ne0e1f9fabfc9d4800c877a703b823ac0578ff8db\r\n$1\r\n1\r\n"
            "$2\r\nk1\r\n$2\r\na1\r\n$2\r\na2\r\n");
  EXPECT_EQ(p.script_of(0), nullptr);
  EXPECT_EQ(p.script_of(1), &script);
  EXPECT_EQ(p.script_of(2), nullptr);
}

TEST(Pipeline, EvalShaWithoutKeysFromViews) {
  Script script("two", "return 2");
  Pipeline p;
  std::vector<std::string_view> none;
  std::vector<std::string_view> args = {"x"};
  p.add_eval(script, none, args);
  EXPECT_EQ(p.bytes(), "*4\r\n$7\r\nEVALSHA\r\n$40\r\n" + script.sha1() + "\r\n$1\r\n0\r\n$1\r\nx\r\n");
  EXPECT_EQ(p.script_of(0), &script);
}

TEST(Pipeline, AddCopyKeepsBytesAndScript) {
  Script script("s", "return 3");
  Pipeline source;
  source.add("GET", "a");
  source.add_eval(script, std::vector<std::string>{"k"}, std::vector<std::string>{});
  Pipeline copy;
  copy.add_copy(source, 1);
  copy.add_copy(source, 0);
  EXPECT_EQ(copy.size(), 2u);
  EXPECT_EQ(copy.command_bytes(0), source.command_bytes(1));
  EXPECT_EQ(copy.command_bytes(1), source.command_bytes(0));
  EXPECT_EQ(copy.script_of(0), &script);
  EXPECT_EQ(copy.script_of(1), nullptr);
}

TEST(Pipeline, ClearForgetsEverything) {
  Script script("s", "return 4");
  Pipeline p;
  p.add_eval(script, std::vector<std::string>{}, std::vector<std::string>{});
  p.clear();
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(p.bytes(), "");
  p.add("PING");
  EXPECT_EQ(p.script_of(0), nullptr);
  EXPECT_EQ(p.bytes(), "*1\r\n$4\r\nPING\r\n");
}

// Our formatter against hiredis' reference redisFormatCommandArgv.
std::string hiredis_format(const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<std::size_t> lens;
  for (const std::string& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  char* cmd = nullptr;
  const int len = redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), ptrs.data(), lens.data());
  std::string out(cmd, static_cast<std::size_t>(len));
  redisFreeCommand(cmd);
  return out;
}

TEST(Pipeline, SameBytesAsHiredisForRandomCommands) {
  std::mt19937 rng(20261127);
  std::uniform_int_distribution<int> arg_count(1, 40);
  std::uniform_int_distribution<int> byte(0, 255);
  std::discrete_distribution<int> length_class({10, 5, 2, 1});  // empty, short, long, very long
  Pipeline p;
  std::string expected;
  for (int command = 0; command < 200; ++command) {
    std::vector<std::string> argv(static_cast<std::size_t>(arg_count(rng)));
    for (std::string& a : argv) {
      const int cls = length_class(rng);
      const std::size_t len = cls == 0 ? 0 : cls == 1 ? rng() % 16 : cls == 2 ? rng() % 1000 : 100'000 + rng() % 50'000;
      a.resize(len);
      for (char& c : a) c = static_cast<char>(byte(rng));
    }
    p.add_argv(argv);
    expected += hiredis_format(argv);
    ASSERT_EQ(p.command_bytes(static_cast<std::size_t>(command)), hiredis_format(argv)) << "command " << command;
  }
  EXPECT_EQ(p.bytes(), expected);
}

TEST(Script, Sha1MatchesRedis) {
  EXPECT_EQ(sha1_hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Script("n", "return redis.call('GET', KEYS[1])").sha1().size(), 40u);
}

}  // namespace
}  // namespace steadfast::redis
