// The external workers' step tokens (engine/task_token.h): what one key
// signs, every key of the file verifies; any change to the token, or a
// token signed with another key, is refused.
#include "engine/task_token.h"

#include <gtest/gtest.h>

namespace steadfast::engine {
namespace {

SigningKey key(std::string id, char fill) { return SigningKey{std::move(id), std::string(40, fill)}; }

TaskToken sample() {
  TaskToken t;
  t.partition = 3;
  t.queue = "py";
  t.entry_id = "1712345678901-0";
  t.consumer = "remote:py-1";
  t.deliveries = 2;
  t.run_id = "01HZXRUN";
  t.workflow = "summarize";
  t.step = "chunks[7]";
  t.attempt = 4;
  t.budget_from = 1;
  t.rate_limited = 2;
  t.waited_ms = 1500;
  t.graph = true;
  t.item_index = 7;
  t.lease_ms = 30000;
  t.deadline_ms = 1780000000123;
  t.limit_holder = "tasks-h-1:1712345678901-0";
  t.limits = {TaskLimit{"llm", "", 700}, TaskLimit{"llm-tenant", "acme", 700}};
  return t;
}

TEST(TaskToken, RoundTripsEveryField) {
  const TaskTokenSigner signer({key("k1", 'a')});
  const std::string text = signer.sign(sample());
  EXPECT_TRUE(text.starts_with("k1."));
  const std::optional<TaskToken> back = signer.verify(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, sample());
}

TEST(TaskToken, EveryKeyOfTheFileVerifiesTheFirstSigns) {
  const TaskTokenSigner old_only({key("old", 'a')});
  const TaskTokenSigner rotated({key("new", 'b'), key("old", 'a')});
  EXPECT_TRUE(rotated.verify(old_only.sign(sample())).has_value());
  EXPECT_TRUE(rotated.sign(sample()).starts_with("new."));
  EXPECT_FALSE(old_only.verify(rotated.sign(sample())).has_value());
}

TEST(TaskToken, AlteredOrForgedTokensAreRefused) {
  const TaskTokenSigner signer({key("k1", 'a')});
  const std::string text = signer.sign(sample());
  // Moved to another run: a new payload under the old signature.
  TaskToken other = sample();
  other.run_id = "01HZXOTHER";
  const TaskTokenSigner forger({key("k1", 'z')});
  const std::string forged = forger.sign(other);
  EXPECT_FALSE(signer.verify(forged).has_value());
  const std::size_t first = text.find('.');
  const std::size_t last = text.rfind('.');
  const std::string moved = text.substr(0, first + 1) + forged.substr(first + 1, forged.rfind('.') - first - 1) +
                            text.substr(last);
  EXPECT_FALSE(signer.verify(moved).has_value());
  // One character changed anywhere.
  for (std::size_t i = 0; i < text.size(); i += 7) {
    std::string changed = text;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(signer.verify(changed).has_value()) << "position " << i;
  }
  EXPECT_FALSE(signer.verify("").has_value());
  EXPECT_FALSE(signer.verify("k1..").has_value());
  EXPECT_FALSE(signer.verify("nokey.abc.def").has_value());
}

TEST(TaskToken, NeedsAKey) { EXPECT_THROW(TaskTokenSigner({}), std::invalid_argument); }

TEST(Base64Url, RoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    const std::string text = base64url(bytes);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    const std::optional<std::string> back = from_base64url(text);
    ASSERT_TRUE(back.has_value()) << n;
    EXPECT_EQ(*back, bytes);
    bytes.push_back(static_cast<char>(n * 37 + 200));
  }
  EXPECT_FALSE(from_base64url("a").has_value());
  EXPECT_FALSE(from_base64url("ab+/").has_value());
}

}  // namespace
}  // namespace steadfast::engine
