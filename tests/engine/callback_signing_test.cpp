// Callback URLs' signatures (engine/callback_signing.h): the key file's
// format and every refusal (naming the line, never the secret), the HMAC
// against an independent computation (Python's hmac), verification of each
// part, key rotation, and the URL's shape.
#include "engine/callback_signing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace steadfast::engine {
namespace {

const std::string kSecret(32, 'k');
const std::string kRun = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

std::string parse_error(const std::string& text) {
  try {
    (void)parse_signing_keys(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "accepted";
}

TEST(SigningKeys, ParseCommentsBlankLinesAndCrlf) {
  const auto keys = parse_signing_keys("# rotate: new first\r\n\n  k2  " + std::string(40, 'a') + "  \r\nk1\t" +
                                       kSecret + "\n");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].id, "k2");
  EXPECT_EQ(keys[0].secret, std::string(40, 'a'));
  EXPECT_EQ(keys[1].id, "k1");
  EXPECT_EQ(keys[1].secret, kSecret);
}

TEST(SigningKeys, EveryBadFileIsRefusedNamingTheLineNotTheSecret) {
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"", "no key: expected lines \"<key id> <secret>\""},
      {"# only a comment\n", "no key: expected lines \"<key id> <secret>\""},
      {"k1\n", "line 1: expected \"<key id> <secret>\""},
      {"\nk.1 " + kSecret, "line 2: key id 'k.1' is invalid: it must match ^[A-Za-z0-9_-]{1,32}$"},
      {std::string(33, 'i') + " " + kSecret, "line 1: key id '" + std::string(33, 'i') +
                                                 "' is invalid: it must match ^[A-Za-z0-9_-]{1,32}$"},
      {"k1 short", "line 1: the secret of key 'k1' is 5 bytes; it must be 32 to 1024 (e.g. `openssl rand -hex 32`)"},
      {"k1 " + std::string(31, 'x'), "line 1: the secret of key 'k1' is 31 bytes; it must be 32 to 1024 (e.g. "
                                     "`openssl rand -hex 32`)"},
      {"k1 " + std::string(1025, 'x'), "line 1: the secret of key 'k1' is 1025 bytes; it must be 32 to 1024 (e.g. "
                                       "`openssl rand -hex 32`)"},
      {"k1 " + kSecret + " extra", "line 1: expected \"<key id> <secret>\": the secret of key 'k1' holds a space"},
      {"k1 " + kSecret + "\xc3\xa9", "line 1: the secret of key 'k1' must be printable ASCII"},
      {"k1 " + kSecret + "\nk1 " + kSecret, "line 2: key id 'k1' is given twice"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text.substr(0, 40));
    const std::string got = parse_error(c.text);
    EXPECT_EQ(got, c.error);
    EXPECT_EQ(got.find(kSecret), std::string::npos) << "the secret must not be in the error";
  }
  EXPECT_EQ(parse_error("k1 " + std::string(1024, 'x')), "accepted") << "1024 bytes is the edge";
  EXPECT_THROW((void)load_signing_keys("/nonexistent/steadfast.key"), std::invalid_argument);
}

TEST(CallbackSigner, SignsWithHmacSha256AsPythonComputesIt) {
  const CallbackSigner signer("https://sf.example.com/", {{"k1", kSecret}});
  // python3 -c "import hmac,hashlib; print(hmac.new(b'k'*32,
  //   b'steadfast-callback\n01ARZ3NDEKTSV4RRFFQ69G5FAV\napprove', hashlib.sha256).hexdigest())"
  const std::string mac = "9b87820c2e210e3d7ba154947e5d057452b69679c8266c0ace85ebd2fa77ca7d";
  EXPECT_EQ(signer.token(kRun, "approve"), "k1." + mac);
  EXPECT_EQ(signer.url(kRun, "approve"), "https://sf.example.com/v1/callbacks/" + kRun + "/approve/k1." + mac)
      << "the trailing slash is dropped";
  EXPECT_TRUE(signer.verify(kRun, "approve", "k1." + mac));
}

TEST(CallbackSigner, RefusesAnyOtherRunStepKeyOrSignature) {
  const CallbackSigner signer("http://127.0.0.1:8080", {{"k1", kSecret}});
  const std::string good = signer.token(kRun, "approve");
  EXPECT_FALSE(signer.verify("01ARZ3NDEKTSV4RRFFQ69G5FAW", "approve", good)) << "another run";
  EXPECT_FALSE(signer.verify(kRun, "approved", good)) << "another step";
  std::string flipped = good;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_FALSE(signer.verify(kRun, "approve", flipped)) << "one hex digit changed";
  EXPECT_FALSE(signer.verify(kRun, "approve", "k2" + good.substr(2))) << "an unknown key id";
  EXPECT_FALSE(signer.verify(kRun, "approve", good.substr(3))) << "no key id";
  EXPECT_FALSE(signer.verify(kRun, "approve", good.substr(0, good.size() - 1))) << "cut short";
  EXPECT_FALSE(signer.verify(kRun, "approve", "")) << "empty";
  const CallbackSigner other("http://127.0.0.1:8080", {{"k1", std::string(32, 'z')}});
  EXPECT_FALSE(other.verify(kRun, "approve", good)) << "another secret under the same id";
}

TEST(CallbackSigner, ARotatedKeyStillVerifiesAndTheNewOneSigns) {
  const CallbackSigner before("http://h", {{"old", kSecret}});
  const CallbackSigner after("http://h", {{"new", std::string(32, 'n')}, {"old", kSecret}});
  const std::string issued = before.token(kRun, "approve");
  EXPECT_TRUE(after.verify(kRun, "approve", issued)) << "URLs signed before the rotation keep working";
  EXPECT_TRUE(after.token(kRun, "approve").starts_with("new."));
  EXPECT_FALSE(before.verify(kRun, "approve", after.token(kRun, "approve")));
}

TEST(CallbackSigner, NeedsAnHttpUrlWithAHostAndAKey) {
  for (const std::string bad : {"", "sf.example.com", "ftp://sf.example.com", "http://", "https:///path",
                                "http://h/a b", "http://h/?q=1", "http://h/#f"}) {
    EXPECT_THROW(CallbackSigner(bad, {{"k1", kSecret}}), std::invalid_argument) << bad;
  }
  EXPECT_NO_THROW(CallbackSigner("https://sf.example.com/prefix", {{"k1", kSecret}}));
  EXPECT_THROW(CallbackSigner("https://sf.example.com", {}), std::invalid_argument);
}

TEST(SigningKeys, GeneratedKeysAreValidAndDiffer) {
  const SigningKey a = generate_signing_key("dev");
  const SigningKey b = generate_signing_key("dev");
  EXPECT_EQ(a.secret.size(), 64u);
  EXPECT_NE(a.secret, b.secret);
  EXPECT_EQ(parse_signing_keys(a.id + " " + a.secret).at(0).secret, a.secret);
}

}  // namespace
}  // namespace steadfast::engine
