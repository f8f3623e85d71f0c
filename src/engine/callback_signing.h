// Callback URLs of signal waits ({{steps.<wait>.callback_url}}): a third
// party (say, a batch LLM API) POSTs to the URL to send the wait's signal to
// the run, with no bearer token. The URL names the run and the wait step and
// carries an HMAC-SHA256 over both with a shared signing key
// (../shared/CONTRACTS.md §4): workers sign, every `serve` verifies.
//
// Key file (`--signing-key-file`): one key per line, "<key id> <secret>";
// blank lines and lines starting with '#' are skipped. The first key signs,
// every key verifies, so keys rotate: put the new key first and drop the old
// one once its URLs are no longer needed. Secrets are never logged.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace steadfast::engine {

struct SigningKey {
  std::string id;      // ^[A-Za-z0-9_-]{1,32}$, in the URL
  std::string secret;  // 32 to 1024 printable ASCII bytes, no spaces
};

// Parses a key file's text. Throws std::invalid_argument naming the line
// (1-based) and what is wrong — never the secret: a line that is not two
// fields, a bad id, a secret too short, too long or not printable, an id
// given twice, or no key at all.
[[nodiscard]] std::vector<SigningKey> parse_signing_keys(std::string_view text);

// Reads and parses the file at `path`; throws std::invalid_argument naming
// the path (and the line) when it cannot be read or parsed.
[[nodiscard]] std::vector<SigningKey> load_signing_keys(const std::string& path);

// HMAC-SHA256 of `message` with `secret`, as 64 lowercase hex digits (the
// callback URLs' and the task tokens' signature). Throws std::runtime_error
// if OpenSSL fails.
[[nodiscard]] std::string hmac_sha256_hex(std::string_view secret, std::string_view message);

// A new key: `id` and 64 hex digits from OpenSSL's RAND_bytes. Throws
// std::runtime_error when no randomness is to be had.
[[nodiscard]] SigningKey generate_signing_key(std::string id);

// Immutable once built; safe to share between threads.
class CallbackSigner {
 public:
  // `public_url`: how third parties reach a `serve` ("https://sf.example.com",
  // a path prefix allowed; trailing '/' dropped). Throws std::invalid_argument
  // for a URL that is not http(s):// with a host, or for no keys.
  CallbackSigner(std::string public_url, std::vector<SigningKey> keys);

  // "<public_url>/v1/callbacks/<run_id>/<step>/<token>".
  [[nodiscard]] std::string url(std::string_view run_id, std::string_view step) const;
  // "<first key id>.<64 lowercase hex digits of HMAC-SHA256(secret,
  // "steadfast-callback\n<run_id>\n<step>")>".
  [[nodiscard]] std::string token(std::string_view run_id, std::string_view step) const;
  // True when `token` is a signature of (run_id, step) by one of the keys;
  // the comparison takes the same time wherever the first difference is.
  [[nodiscard]] bool verify(std::string_view run_id, std::string_view step, std::string_view token) const;

  [[nodiscard]] const std::string& public_url() const noexcept { return public_url_; }

 private:
  std::string public_url_;
  std::vector<SigningKey> keys_;
};

}  // namespace steadfast::engine
