// ReplyParser on hand-written RESP2, and the Reply value type. No Redis.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "redis/error.h"
#include "redis/reply.h"

namespace steadfast::redis {

// Failed EXPECT_EQ on replies print them readably.
void PrintTo(const Reply& reply, std::ostream* os) { *os << reply.debug_string(); }

namespace {

using namespace std::string_literals;

// Feeds all of resp at once and returns every complete reply.
std::vector<Reply> parse_all(std::string_view resp) {
  ReplyParser parser;
  parser.feed(resp.data(), resp.size());
  std::vector<Reply> out;
  while (auto r = parser.next()) out.push_back(std::move(*r));
  return out;
}

// Feeds one byte at a time, taking replies as soon as they are complete.
std::vector<Reply> parse_bytewise(std::string_view resp) {
  ReplyParser parser;
  std::vector<Reply> out;
  for (char c : resp) {
    parser.feed(&c, 1);
    while (auto r = parser.next()) out.push_back(std::move(*r));
  }
  return out;
}

Reply parse_one(std::string_view resp) {
  auto all = parse_all(resp);
  EXPECT_EQ(all.size(), 1u) << resp;
  return all.empty() ? Reply() : std::move(all.front());
}

Reply arr(std::vector<Reply> v) { return Reply::make_array(std::move(v)); }
Reply str(std::string s) { return Reply::make_string(std::move(s)); }
Reply num(long long v) { return Reply::make_integer(v); }

TEST(ReplyParser, SimpleTypes) {
  Reply status = parse_one("+OK\r\n");
  EXPECT_TRUE(status.is_status());
  EXPECT_EQ(status.str(), "OK");

  Reply error = parse_one("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  EXPECT_TRUE(error.is_error());
  EXPECT_EQ(error.str(), "WRONGTYPE Operation against a key holding the wrong kind of value");

  Reply integer = parse_one(":-42\r\n");
  EXPECT_TRUE(integer.is_integer());
  EXPECT_EQ(integer.as_integer(), -42);

  Reply big = parse_one(":9223372036854775807\r\n");
  EXPECT_EQ(big.as_integer(), 9223372036854775807LL);

  Reply bulk = parse_one("$5\r\nhello\r\n");
  EXPECT_TRUE(bulk.is_string());
  EXPECT_EQ(bulk.str(), "hello");

  Reply empty = parse_one("$0\r\n\r\n");
  EXPECT_TRUE(empty.is_string());
  EXPECT_EQ(empty.str(), "");
}

TEST(ReplyParser, NilBulkAndNilArray) {
  Reply nil_bulk = parse_one("$-1\r\n");
  EXPECT_TRUE(nil_bulk.is_nil());
  EXPECT_EQ(nil_bulk.as_optional_str(), std::nullopt);

  Reply nil_array = parse_one("*-1\r\n");
  EXPECT_TRUE(nil_array.is_nil());
}

TEST(ReplyParser, BulkStringIsBinarySafe) {
  const std::string payload = "a\r\nb\0c$3\r\n"s;
  Reply r = parse_one("$" + std::to_string(payload.size()) + "\r\n" + payload + "\r\n");
  EXPECT_EQ(r.str(), payload);
}

TEST(ReplyParser, EmptyArray) {
  Reply r = parse_one("*0\r\n");
  EXPECT_TRUE(r.is_array());
  EXPECT_EQ(r.size(), 0u);
}

TEST(ReplyParser, NestedArrays) {
  // XREADGROUP-shaped: [[stream, [[id, [field, value]], [id, nil]]]], plus
  // integers, errors and nils at every depth.
  const std::string resp =
      "*3\r\n"
      "*2\r\n$6\r\nstream\r\n"
      "*2\r\n"
      "*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
      "*2\r\n$3\r\n2-0\r\n*-1\r\n"
      ":7\r\n"
      "*3\r\n$-1\r\n-ERR inner\r\n*0\r\n";
  Reply r = parse_one(resp);
  Reply expected = arr({
      arr({str("stream"), arr({arr({str("1-0"), arr({str("f"), str("v")})}), arr({str("2-0"), Reply()})})}),
      num(7),
      arr({Reply(), Reply::make_error("ERR inner"), arr({})}),
  });
  EXPECT_EQ(r, expected) << r.debug_string();
  EXPECT_EQ(r[0][1][0][1][1].str(), "v");
  EXPECT_TRUE(r[2][1].is_error());
}

TEST(ReplyParser, SeveralRepliesInOneFeed) {
  auto all = parse_all("+OK\r\n:1\r\n$1\r\nx\r\n*1\r\n:2\r\n-ERR no\r\n");
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0], Reply::make_status("OK"));
  EXPECT_EQ(all[1], num(1));
  EXPECT_EQ(all[2], str("x"));
  EXPECT_EQ(all[3], arr({num(2)}));
  EXPECT_EQ(all[4], Reply::make_error("ERR no"));
}

TEST(ReplyParser, ByteByByteFeedGivesTheSameReplies) {
  const std::string resp =
      "+PONG\r\n:123456789\r\n$12\r\nhello\r\nworld\r\n*2\r\n*1\r\n$-1\r\n*0\r\n-ERR x y\r\n$0\r\n\r\n"
      "*3\r\n:1\r\n:2\r\n*2\r\n$2\r\nab\r\n+st\r\n";
  auto whole = parse_all(resp);
  auto split = parse_bytewise(resp);
  ASSERT_EQ(whole.size(), 7u);
  EXPECT_EQ(split, whole);
  EXPECT_EQ(split[2].str(), "hello\r\nworld");
}

TEST(ReplyParser, IncompleteReplyWaitsForMoreBytes) {
  ReplyParser parser;
  const std::string part1 = "*2\r\n$3\r\nfo";
  const std::string part2 = "o\r\n:5\r\n";
  parser.feed(part1.data(), part1.size());
  EXPECT_EQ(parser.next(), std::nullopt);
  parser.feed(part2.data(), part2.size());
  auto r = parser.next();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, arr({str("foo"), num(5)}));
  EXPECT_EQ(parser.next(), std::nullopt);
}

TEST(ReplyParser, LargeBulkInChunks) {
  const std::string payload(1 << 20, 'z');
  const std::string resp = "$" + std::to_string(payload.size()) + "\r\n" + payload + "\r\n";
  ReplyParser parser;
  std::optional<Reply> r;
  for (std::size_t i = 0; i < resp.size(); i += 4093) {
    parser.feed(resp.data() + i, std::min<std::size_t>(4093, resp.size() - i));
    if (auto got = parser.next()) r = std::move(got);
  }
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->str().size(), payload.size());
  EXPECT_EQ(r->str(), payload);
}

TEST(ReplyParser, GarbageTypeByteIsProtocolError) {
  ReplyParser parser;
  const std::string garbage = "HTTP/1.1 400 Bad Request\r\n";
  parser.feed(garbage.data(), garbage.size());
  EXPECT_THROW((void)parser.next(), ProtocolError);
}

TEST(ReplyParser, BadLengthIsProtocolError) {
  for (const char* resp : {"$abc\r\n", "*x\r\n", ":12a\r\n"}) {
    ReplyParser parser;
    parser.feed(resp, std::char_traits<char>::length(resp));
    try {
      (void)parser.next();
      ADD_FAILURE() << "no ProtocolError for " << resp;
    } catch (const ProtocolError& e) {
      EXPECT_NE(std::string(e.what()).find("RESP parse error"), std::string::npos) << e.what();
      EXPECT_EQ(e.kind(), ErrorKind::protocol);
    }
  }
}

TEST(ReplyParser, GarbageAfterValidRepliesFailsThere) {
  ReplyParser parser;
  const std::string resp = "+OK\r\n!!!\r\n";
  parser.feed(resp.data(), resp.size());
  auto first = parser.next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->str(), "OK");
  EXPECT_THROW((void)parser.next(), ProtocolError);
}

TEST(ReplyParser, ResetDropsPartialReply) {
  ReplyParser parser;
  const std::string partial = "*3\r\n:1\r\n$10\r\nabc";
  parser.feed(partial.data(), partial.size());
  EXPECT_EQ(parser.next(), std::nullopt);
  parser.reset();
  const std::string fresh = ":9\r\n";
  parser.feed(fresh.data(), fresh.size());
  auto r = parser.next();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, num(9));
}

TEST(Reply, AsIntegerConvertsNumericStrings) {
  EXPECT_EQ(num(5).as_integer(), 5);
  EXPECT_EQ(str("-17").as_integer(), -17);
  EXPECT_THROW((void)str("17x").as_integer(), ProtocolError);
  EXPECT_THROW((void)str("").as_integer(), ProtocolError);
  EXPECT_THROW((void)Reply().as_integer(), ProtocolError);
  EXPECT_THROW((void)Reply::make_status("5").as_integer(), ProtocolError);
}

TEST(Reply, AsOptionalStrNeverTakesAnErrorForData) {
  EXPECT_EQ(Reply().as_optional_str(), std::nullopt);
  EXPECT_EQ(str("v").as_optional_str(), "v");
  EXPECT_EQ(Reply::make_status("OK").as_optional_str(), "OK");
  EXPECT_THROW((void)Reply::make_error("ERR x").as_optional_str(), ProtocolError);
  EXPECT_THROW((void)num(1).as_optional_str(), ProtocolError);
}

TEST(Reply, TakeStrMovesTheText) {
  Reply r = str(std::string(100, 'q'));
  std::string s = r.take_str();
  EXPECT_EQ(s.size(), 100u);
  EXPECT_TRUE(r.str().empty());
}

TEST(Reply, DebugString) {
  EXPECT_EQ(Reply().debug_string(), "(nil)");
  EXPECT_EQ(arr({str("a"), num(2), Reply(), Reply::make_error("ERR e"), arr({})}).debug_string(),
            "[\"a\", 2, (nil), (error) ERR e, []]");
}

TEST(Reply, OutOfRangeIndexThrows) {
  Reply r = arr({num(1)});
  EXPECT_EQ(r[0], num(1));
  EXPECT_THROW((void)r[1], std::out_of_range);
}

}  // namespace
}  // namespace steadfast::redis
