#include "engine/callback_signing.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "engine/quote.h"

namespace steadfast::engine {

namespace {

constexpr std::size_t kMinSecret = 32;
constexpr std::size_t kMaxSecret = 1024;

bool is_key_id(std::string_view id) {
  return !id.empty() && id.size() <= 32 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string hmac_hex(const std::string& secret, std::string_view run_id, std::string_view step) {
  std::string message = "steadfast-callback\n";
  message.append(run_id).append("\n").append(step);
  return hmac_sha256_hex(secret, message);
}

}  // namespace

std::string hmac_sha256_hex(std::string_view secret, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(), &length) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xF]);
  }
  return out;
}

std::vector<SigningKey> parse_signing_keys(std::string_view text) {
  std::vector<SigningKey> keys;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    line.remove_prefix(first);
    const std::string where = "line " + std::to_string(line_no) + ": ";
    const auto gap = line.find_first_of(" \t");
    if (gap == std::string_view::npos) throw std::invalid_argument(where + "expected \"<key id> <secret>\"");
    const std::string_view id = line.substr(0, gap);
    std::string_view secret = line.substr(gap);
    secret.remove_prefix(secret.find_first_not_of(" \t"));
    while (!secret.empty() && (secret.back() == ' ' || secret.back() == '\t')) secret.remove_suffix(1);
    if (!is_key_id(id)) {
      throw std::invalid_argument(where + "key id " + quote(id, 40) + " is invalid: it must match ^[A-Za-z0-9_-]{1,32}$");
    }
    if (secret.find_first_of(" \t") != std::string_view::npos) {
      throw std::invalid_argument(where + "expected \"<key id> <secret>\": the secret of key " + quote(id) +
                                  " holds a space");
    }
    if (secret.size() < kMinSecret || secret.size() > kMaxSecret) {
      throw std::invalid_argument(where + "the secret of key " + quote(id) + " is " + std::to_string(secret.size()) +
                                  " bytes; it must be 32 to 1024 (e.g. `openssl rand -hex 32`)");
    }
    if (!std::all_of(secret.begin(), secret.end(), [](char c) { return c > ' ' && c < 127; })) {
      throw std::invalid_argument(where + "the secret of key " + quote(id) + " must be printable ASCII");
    }
    if (std::any_of(keys.begin(), keys.end(), [&](const SigningKey& k) { return k.id == id; })) {
      throw std::invalid_argument(where + "key id " + quote(id) + " is given twice");
    }
    keys.push_back(SigningKey{std::string(id), std::string(secret)});
  }
  if (keys.empty()) throw std::invalid_argument("no key: expected lines \"<key id> <secret>\"");
  return keys;
}

SigningKey generate_signing_key(std::string id) {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("no randomness for a signing key (RAND_bytes failed)");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string secret;
  for (unsigned char b : bytes) {
    secret.push_back(kHex[b >> 4]);
    secret.push_back(kHex[b & 0xF]);
  }
  return SigningKey{std::move(id), std::move(secret)};
}

std::vector<SigningKey> load_signing_keys(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("signing key file " + quote(path) + " cannot be read");
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return parse_signing_keys(buffer.str());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("signing key file " + quote(path) + ": " + e.what());
  }
}

CallbackSigner::CallbackSigner(std::string public_url, std::vector<SigningKey> keys)
    : public_url_(std::move(public_url)), keys_(std::move(keys)) {
  while (!public_url_.empty() && public_url_.back() == '/') public_url_.pop_back();
  const std::string_view u = public_url_;
  const std::size_t scheme = u.starts_with("https://") ? 8 : u.starts_with("http://") ? 7 : 0;
  if (scheme == 0 || u.size() == scheme || u[scheme] == '/' ||
      u.find_first_of(" \t\r\n?#") != std::string_view::npos) {
    throw std::invalid_argument("public URL " + quote(public_url_, 80) +
                                " must be http:// or https:// with a host (and an optional path)");
  }
  if (keys_.empty()) throw std::invalid_argument("callback URLs need at least one signing key");
}

std::string CallbackSigner::token(std::string_view run_id, std::string_view step) const {
  return keys_.front().id + "." + hmac_hex(keys_.front().secret, run_id, step);
}

std::string CallbackSigner::url(std::string_view run_id, std::string_view step) const {
  std::string out = public_url_ + "/v1/callbacks/";
  out.append(run_id).append("/").append(step).append("/");
  return out + token(run_id, step);
}

bool CallbackSigner::verify(std::string_view run_id, std::string_view step, std::string_view token) const {
  const std::size_t dot = token.find('.');
  if (dot == std::string_view::npos) return false;
  const std::string_view id = token.substr(0, dot);
  const std::string_view mac = token.substr(dot + 1);
  for (const SigningKey& k : keys_) {
    if (k.id != id) continue;
    const std::string expected = hmac_hex(k.secret, run_id, step);
    return mac.size() == expected.size() && CRYPTO_memcmp(mac.data(), expected.data(), expected.size()) == 0;
  }
  return false;
}

}  // namespace steadfast::engine
