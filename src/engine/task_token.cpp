#include "engine/task_token.h"

#include <openssl/crypto.h>

#include <stdexcept>

#include "steadfast/json.h"

namespace steadfast::engine {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string signature(const std::string& secret, std::string_view payload) {
  std::string message = "steadfast-task\n";
  message.append(payload);
  return hmac_sha256_hex(secret, message);
}

Json to_json(const TaskToken& t) {
  Json limits = Json::array();
  for (const TaskLimit& l : t.limits) limits.push_back(Json::array({l.limiter, l.key, l.cost}));
  return Json{{"p", t.partition},   {"q", t.queue},        {"e", t.entry_id},     {"c", t.consumer},
              {"d", t.deliveries},  {"r", t.run_id},       {"w", t.workflow},     {"s", t.step},
              {"a", t.attempt},     {"bf", t.budget_from}, {"rl", t.rate_limited}, {"wt", t.waited_ms},
              {"g", t.graph},       {"i", t.item_index},   {"ls", t.lease_ms},    {"h", t.limit_holder},
              {"dl", t.deadline_ms}, {"l", limits}};
}

TaskToken from_json(const Json& j) {
  TaskToken t;
  t.partition = j.at("p").get<int>();
  t.queue = j.at("q").get<std::string>();
  t.entry_id = j.at("e").get<std::string>();
  t.consumer = j.at("c").get<std::string>();
  t.deliveries = j.at("d").get<long long>();
  t.run_id = j.at("r").get<std::string>();
  t.workflow = j.at("w").get<std::string>();
  t.step = j.at("s").get<std::string>();
  t.attempt = j.at("a").get<int>();
  t.budget_from = j.at("bf").get<int>();
  t.rate_limited = j.at("rl").get<int>();
  t.waited_ms = j.at("wt").get<std::int64_t>();
  t.graph = j.at("g").get<bool>();
  t.item_index = j.at("i").get<std::int64_t>();
  t.lease_ms = j.at("ls").get<std::int64_t>();
  t.limit_holder = j.at("h").get<std::string>();
  t.deadline_ms = j.at("dl").get<std::int64_t>();
  for (const Json& l : j.at("l")) {
    t.limits.push_back(TaskLimit{l.at(0).get<std::string>(), l.at(1).get<std::string>(), l.at(2).get<std::int64_t>()});
  }
  return t;
}

}  // namespace

std::string base64url(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> from_base64url(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  const auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int v = value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

TaskTokenSigner::TaskTokenSigner(std::vector<SigningKey> keys) : keys_(std::move(keys)) {
  if (keys_.empty()) throw std::invalid_argument("task tokens need a signing key");
}

std::string TaskTokenSigner::sign(const TaskToken& token) const {
  const std::string payload = base64url(to_json(token).dump());
  return keys_.front().id + "." + payload + "." + signature(keys_.front().secret, payload);
}

std::optional<TaskToken> TaskTokenSigner::verify(std::string_view text) const {
  const std::size_t first = text.find('.');
  const std::size_t last = text.rfind('.');
  if (first == std::string_view::npos || first == last) return std::nullopt;
  const std::string_view id = text.substr(0, first);
  const std::string_view payload = text.substr(first + 1, last - first - 1);
  const std::string_view sig = text.substr(last + 1);
  const SigningKey* key = nullptr;
  for (const SigningKey& k : keys_) {
    if (k.id == id) key = &k;
  }
  if (key == nullptr) return std::nullopt;
  const std::string expected = signature(key->secret, payload);
  if (sig.size() != expected.size() || CRYPTO_memcmp(sig.data(), expected.data(), expected.size()) != 0) {
    return std::nullopt;
  }
  const std::optional<std::string> json = from_base64url(payload);
  if (!json) return std::nullopt;
  const Json j = Json::parse(*json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    return from_json(j);
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

}  // namespace steadfast::engine
