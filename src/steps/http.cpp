#include "steps/http.h"

#include <curl/curl.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "engine/json_depth.h"
#include "engine/quote.h"
#include "engine/template.h"
#include "steps/address_policy.h"
#include "steps/blocking.h"
#include "steps/curl_loop.h"
#include "steps/params.h"
#include "steps/text.h"
#include "steps/url_template.h"

namespace steadfast::steps {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr milliseconds kDefaultTimeout = 30s;
constexpr milliseconds kMaxTimeout = 24h;
constexpr std::int64_t kDefaultMaxResponseBytes = std::int64_t{1} << 20;
constexpr std::int64_t kMaxMaxResponseBytes = std::int64_t{64} << 20;
// Longest body excerpt in an error message, in bytes.
constexpr std::size_t kExcerptBytes = 512;
constexpr milliseconds kMaxRetryAfter = 24h;
// curl's receive buffer per transfer (CURLOPT_BUFFERSIZE).
constexpr long kReceiveBufferBytes = 1024;

constexpr std::array<std::string_view, 7> kMethods{"GET",    "POST", "PUT",    "PATCH",
                                                   "DELETE", "HEAD", "OPTIONS"};

struct Header {
  std::string name;
  engine::Template value;
};

// Everything checked and parsed once, when the workflows are built.
struct HttpSpec {
  std::string method;
  UrlTemplate url;
  // Extra hosts a URL whose host came from the run may reach (allow_hosts).
  std::vector<AllowEntry> allow_hosts;
  std::vector<Header> headers;
  std::optional<engine::JsonTemplate> body;
  milliseconds timeout{kDefaultTimeout};
  std::optional<Json::json_pointer> extract;
  std::string extract_text;
  std::size_t max_response_bytes = kDefaultMaxResponseBytes;
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// RFC 9110 token characters.
bool is_token(std::string_view s) {
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || kExtra.find(c) != std::string_view::npos;
  });
}

bool has_line_break(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

engine::Template parse_template(Params& params, std::string_view key, const std::string& text) {
  try {
    return engine::Template::parse(text);
  } catch (const engine::TemplateSyntaxError& e) {
    params.fail(key, e.what());
  }
}

HttpSpec parse_spec(const Json& with) {
  Params params("http", with);
  HttpSpec spec;

  spec.method = upper(params.string("method", "GET"));
  if (std::find(kMethods.begin(), kMethods.end(), spec.method) == kMethods.end()) {
    params.fail("method", "expected one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, got " +
                              engine::quote(spec.method));
  }

  const std::string url = params.string("url", std::nullopt);
  if (url.empty()) params.fail("url", "must not be empty");
  try {
    spec.url = UrlTemplate::parse(url);
  } catch (const engine::TemplateSyntaxError& e) {
    params.fail("url", e.what());
  }
  if (spec.url.text().is_literal()) {
    const std::string scheme = lower(url.substr(0, url.find(':')));
    if (scheme != "http" && scheme != "https") {
      params.fail("url", "expected an http:// or https:// URL, got " + engine::quote(url));
    }
  }

  if (const Json* headers = params.raw("headers"); headers != nullptr && !headers->is_null()) {
    if (!headers->is_object()) {
      params.fail("headers", std::string("expected a map of header names to values, got ") +
                                 headers->type_name());
    }
    for (const auto& [name, value] : headers->items()) {
      const std::string where = "headers." + name;
      if (!is_token(name)) params.fail(where, "not a valid header name");
      const std::string lname = lower(name);
      if (lname == "content-length" || lname == "transfer-encoding" || lname == "host") {
        params.fail(where, "is set by the http step itself");
      }
      if (!value.is_string()) {
        params.fail(where, std::string("expected a string, got ") + value.type_name());
      }
      const auto& text = value.get_ref<const std::string&>();
      if (has_line_break(text)) params.fail(where, "must not hold a line break");
      spec.headers.push_back({name, parse_template(params, where, text)});
    }
  }

  if (const Json* body = params.raw("body"); body != nullptr) {
    if (spec.method == "HEAD") params.fail("body", "a HEAD request has no body");
    try {
      spec.body = engine::JsonTemplate::parse(*body);
    } catch (const engine::TemplateSyntaxError& e) {
      params.fail("body", e.what());
    }
  }

  spec.timeout = params.duration("timeout", kDefaultTimeout, 1ms, kMaxTimeout);

  if (const Json* extract = params.raw("extract"); extract != nullptr) {
    if (!extract->is_string()) {
      params.fail("extract", std::string("expected a JSON pointer like \"/data/0\", got ") +
                                 extract->type_name());
    }
    spec.extract_text = extract->get<std::string>();
    try {
      spec.extract = Json::json_pointer(spec.extract_text);
    } catch (const Json::exception& e) {
      params.fail("extract", "not a JSON pointer (" + std::string(e.what()) + ")");
    }
  }

  if (const Json* allow = params.raw("allow_hosts"); allow != nullptr && !allow->is_null()) {
    if (!allow->is_array()) {
      params.fail("allow_hosts", std::string("expected a list of host names, addresses or ranges, got ") +
                                     allow->type_name());
    }
    for (std::size_t i = 0; i < allow->size(); ++i) {
      const Json& entry = (*allow)[i];
      const std::string where = "allow_hosts." + std::to_string(i);
      if (!entry.is_string()) params.fail(where, std::string("expected a string, got ") + entry.type_name());
      try {
        spec.allow_hosts.push_back(AllowEntry::parse(entry.get_ref<const std::string&>()));
      } catch (const std::invalid_argument& e) {
        params.fail(where, e.what());
      }
    }
  }

  spec.max_response_bytes = static_cast<std::size_t>(
      params.integer("max_response_bytes", kDefaultMaxResponseBytes, 1, kMaxMaxResponseBytes));
  params.finish();
  return spec;
}

// ---------------------------------------------------------------- one transfer

struct CurlEasyDeleter {
  void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using EasyHandle = std::unique_ptr<CURL, CurlEasyDeleter>;
using Slist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

// What the callbacks collect during one transfer.
struct Transfer {
  const StepContext* ctx = nullptr;
  // Set when the host came from the run: every address connected to is checked.
  const AddressPolicy* policy = nullptr;
  std::string refused;  // the address refused and why, for the error
  std::size_t max_bytes = 0;
  std::string body;
  bool too_large = false;
  std::string content_type;
  std::optional<std::string> retry_after;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t->body.size() + n > t->max_bytes) {
    t->too_large = true;
    return 0;  // CURLE_WRITE_ERROR
  }
  t->body.append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {  // a new response (after a 100 Continue, say)
    t->content_type.clear();
    t->retry_after.reset();
    return n;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  const std::string name = lower(trim(line.substr(0, colon)));
  const std::string_view value = trim(line.substr(colon + 1));
  if (name == "content-type") {
    t->content_type = std::string(value);
  } else if (name == "retry-after") {
    t->retry_after = std::string(value);
  }
  return n;
}

// Instead of socket(2): the address is the one libcurl resolved and is about
// to connect to, after any DNS answer, so no name or numeric form hides it.
curl_socket_t on_open_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN) {
    t->refused = "a connection that is not to an IP address";
    return CURL_SOCKET_BAD;
  }
  const auto ip = IpAddress::from_sockaddr(&address->addr, static_cast<socklen_t>(address->addrlen));
  if (!ip) {
    t->refused = "an address that is neither IPv4 nor IPv6";
    return CURL_SOCKET_BAD;
  }
  if (auto why = t->policy->refusal(*ip)) {
    t->refused = ip->text() + " (" + *why + ")";
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* t = static_cast<const Transfer*>(user);
  return t->ctx->cancelled() ? 1 : 0;  // non-zero aborts: CURLE_ABORTED_BY_CALLBACK
}

// The URL for messages: no user info, no query, no fragment (tokens live there).
std::string display_url(std::string_view url) {
  url = url.substr(0, std::min(url.find('?'), url.find('#')));
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const std::size_t host_start = scheme_end + 3;
  const std::size_t path_start = std::min(url.find('/', host_start), url.size());
  const std::size_t at = url.substr(0, path_start).rfind('@');
  if (at == std::string_view::npos || at < host_start) return std::string(url);
  return std::string(url.substr(0, host_start)) + std::string(url.substr(at + 1));
}

bool is_json_type(std::string_view content_type) {
  std::string mime = lower(trim(content_type.substr(0, content_type.find(';'))));
  return mime == "application/json" || mime.ends_with("+json");
}

// curl errors that another attempt cannot fix.
bool is_permanent(CURLcode code) {
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_LOGIN_DENIED:
      return true;
    default:
      return false;
  }
}

std::mutex policy_mutex;
AddressPolicy worker_policy;  // guarded by policy_mutex

AddressPolicy http_address_policy() {
  const std::lock_guard lock(policy_mutex);
  return worker_policy;
}

// One attempt of an http step: renders the request, hands the transfer to
// the process's CurlLoop, and turns its end into the step's result. Owned by
// shared_ptr: the loop's completion keeps it alive until `done` is called.
class Attempt : public std::enable_shared_from_this<Attempt> {
 public:
  Attempt(std::shared_ptr<const HttpSpec> spec, std::shared_ptr<StepContext> ctx, StepDone done)
      : spec_(std::move(spec)), ctx_(std::move(ctx)), tctx_(*ctx_), done_(std::move(done)) {}

  // Calls `done` exactly once: at once for a request that cannot be made,
  // else from the loop's thread when the transfer ends.
  void start() {
    std::string url;
    std::vector<std::string> header_lines;
    try {
      RenderedUrl rendered;
      try {
        rendered = spec_->url.render(tctx_, secrets_);
      } catch (const engine::TemplateRenderError& e) {
        throw engine::TemplateRenderError(std::string(e.what()).starts_with("url: ") ? e.what()
                                                                                     : "url: " + std::string(e.what()));
      }
      url = std::move(rendered.url);
      if (!rendered.trusted_origin) {
        policy_ = http_address_policy();
        policy_.allow.insert(policy_.allow.end(), spec_->allow_hosts.begin(), spec_->allow_hosts.end());
        check_addresses_ = !policy_.allows_host(url_host(url));
      }
      for (const Header& h : spec_->headers) {
        std::string value = render("headers." + h.name, h.value);
        if (has_line_break(value)) {
          return done_(fatal("http: header " + engine::quote(h.name) + ": the rendered value holds a line break"));
        }
        header_lines.push_back(h.name + ": " + value);
      }
      if (spec_->body) {
        try {
          body_ = spec_->body->render(tctx_, secrets_).dump(-1, ' ', false, Json::error_handler_t::replace);
        } catch (const engine::TemplateRenderError& e) {
          throw engine::TemplateRenderError("body: " + std::string(e.what()));
        }
      }
    } catch (const engine::TemplateRenderError& e) {
      return done_(fatal("http: " + std::string(e.what())));
    }
    // Quoted, control characters escaped: the URL may come from a run's input.
    where_ = "http " + spec_->method + " " + engine::quote(display_url(url), 300);
    url_ = std::move(url);
    if (auto refused = prepare(std::move(header_lines))) return done_(std::move(*refused));
    CurlLoop::shared().start(
        easy_.get(), [self = shared_from_this()] { return self->ctx_->cancelled(); },
        [self = shared_from_this()](CURLcode code) {
          StepResult result = self->finish(code);
          self->done_(std::move(result));
        });
  }

 private:
  std::string render(const std::string& what, const engine::Template& t) {
    try {
      return t.render(tctx_, secrets_);
    } catch (const engine::TemplateRenderError& e) {
      throw engine::TemplateRenderError(what + ": " + e.what());
    }
  }

  // Every message goes out through these: secrets never leave.
  StepError fatal(const std::string& message) const { return StepError::fatal(secrets_.redact(message)); }
  StepError retryable(const std::string& message, milliseconds after = 0ms) const {
    return StepError::retryable(secrets_.redact(message), after);
  }

  bool user_sets(std::string_view name) const {
    const std::string lname = lower(name);
    return std::any_of(spec_->headers.begin(), spec_->headers.end(),
                       [&](const Header& h) { return lower(h.name) == lname; });
  }

  // Sets up the easy handle; the error when the request cannot be made.
  std::optional<StepError> prepare(std::vector<std::string> header_lines) {
    easy_.reset(curl_easy_init());
    if (!easy_) return retryable(where_ + ": could not create a curl handle");
    CURL* h = easy_.get();

    const bool has_body = spec_->body.has_value();
    const bool sends_fields = has_body || spec_->method == "POST" || spec_->method == "PUT" ||
                              spec_->method == "PATCH";
    if (!user_sets("Idempotency-Key")) header_lines.push_back("Idempotency-Key: " + ctx_->idempotency_key());
    if (!user_sets("Accept")) header_lines.emplace_back("Accept: application/json");
    if (!user_sets("Content-Type") && sends_fields) {
      // Without a body, "Content-Type:" stops curl's form-urlencoded default.
      header_lines.emplace_back(has_body ? "Content-Type: application/json" : "Content-Type:");
    }
    header_lines.emplace_back("Expect:");  // no 100-continue round trip
    for (const std::string& line : header_lines) {
      curl_slist* next = curl_slist_append(headers_.get(), line.c_str());
      if (next == nullptr) return retryable(where_ + ": out of memory");
      (void)headers_.release();
      headers_.reset(next);
    }

    t_.ctx = ctx_.get();
    t_.max_bytes = spec_->max_response_bytes;

    curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
    // Fail closed: a libcurl that cannot restrict the protocols (older than
    // 7.85) would let a URL from the run reach file://, gopher://, ...
    if (curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK) {
      return fatal(where_ + ": this libcurl cannot restrict requests to http and https (needs 7.85 or later)");
    }
    if (check_addresses_) {
      t_.policy = &policy_;
      // Straight to the host: through a proxy, the address checked would be
      // the proxy's. A connection of its own, closed after: a pooled one was
      // opened by another transfer, whose address was not checked.
      if (curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, &on_open_socket) != CURLE_OK ||
          curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &t_) != CURLE_OK ||
          curl_easy_setopt(h, CURLOPT_NOPROXY, "*") != CURLE_OK ||
          curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK ||
          curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK) {
        return fatal(where_ + ": cannot check the addresses this request connects to");
      }
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    // Each transfer holds a receive buffer while in flight: 16 KiB by
    // default, 80 MB for 5,000 calls. LLM answers are a few KiB.
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, kReceiveBufferBytes);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(spec_->timeout.count()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_.get());
    curl_easy_setopt(h, CURLOPT_USERAGENT, "steadfast");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_.data());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t_);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t_);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t_);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    if (spec_->method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (spec_->method == "GET" && !has_body) {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      if (sends_fields) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_.size()));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body_.c_str());
      }
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, spec_->method.c_str());
    }
    return std::nullopt;
  }

  // The step's result once the loop is done with the transfer.
  StepResult finish(CURLcode code) {
    const Transfer& t = t_;
    if (code == CURLE_ABORTED_BY_CALLBACK) return retryable(where_ + ": cancelled");
    if (t.too_large) {
      return fatal(where_ + ": the response is larger than max_response_bytes (" +
                   std::to_string(spec_->max_response_bytes) + ")");
    }
    if (code != CURLE_OK && !t.refused.empty()) {
      return fatal(where_ + ": refused to connect to " + t.refused +
                   ": the URL's host comes from the run's input or an earlier step's output; "
                   "list it in the step's allow_hosts (or the worker's --allow-hosts) to allow it");
    }
    if (code != CURLE_OK) {
      std::string message = where_ + ": ";
      if (code == CURLE_OPERATION_TIMEDOUT) {
        message += "timed out after " + std::to_string(spec_->timeout.count()) + " ms";
      } else {
        message += curl_easy_strerror(code);
        if (error_[0] != '\0') message += " (" + printable(std::string_view(error_.data())) + ")";
      }
      return is_permanent(code) ? StepResult(fatal(message)) : StepResult(retryable(message));
    }

    long status = 0;
    curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &status);
    return outcome(status, t);
  }

  std::string excerpt(const std::string& body) const {
    if (body.empty()) return " (empty body)";
    // Redacted before the cut, so that no part of a secret is left; quoted,
    // so that a body cannot forge a log line.
    const std::string start = head(valid_utf8(secrets_.redact(body)), kExcerptBytes);
    return ": " + engine::quote(start, start.size());
  }

  StepResult outcome(long status, const Transfer& t) const {
    const std::string what = where_ + ": status " + std::to_string(status);
    const milliseconds after =
        t.retry_after ? parse_retry_after(*t.retry_after, std::chrono::system_clock::now()) : 0ms;
    if (status == 429) return StepError::rate_limited(secrets_.redact(what + excerpt(t.body)), after);
    if (status == 408 || (status >= 500 && status <= 599)) return retryable(what + excerpt(t.body), after);
    if (status >= 300 && status <= 399) {
      return fatal(what + " (redirects are not followed)" + excerpt(t.body));
    }
    if (status < 200 || status > 299) return fatal(what + excerpt(t.body));

    std::optional<Json> parsed;
    if (t.content_type.empty() || is_json_type(t.content_type)) {
      if (!engine::json_text_depth_within(t.body, engine::kMaxJsonDepth)) {
        return fatal(where_ + ": the response nests deeper than " + std::to_string(engine::kMaxJsonDepth) +
                     " levels");
      }
      Json value = Json::parse(t.body, nullptr, /*allow_exceptions=*/false);
      if (!value.is_discarded()) parsed = std::move(value);
    }
    if (!parsed) {
      if (spec_->extract) {
        return fatal(where_ + ": extract " + engine::quote(spec_->extract_text) +
                     ": the response is not JSON (content type " + engine::quote(t.content_type) + ")");
      }
      return secrets_.redact_json(Json{{"text", valid_utf8(t.body)},
                                  {"status", status},
                                  {"content_type", valid_utf8(t.content_type)}});
    }
    if (spec_->extract) {
      bool found = false;
      try {
        found = parsed->contains(*spec_->extract);
      } catch (const Json::exception&) {
        found = false;
      }
      if (!found) {
        return fatal(where_ + ": extract: no value at " + engine::quote(spec_->extract_text) +
                     " in the response");
      }
      return secrets_.redact_json(parsed->at(*spec_->extract));
    }
    return secrets_.redact_json(*parsed);
  }

  std::shared_ptr<const HttpSpec> spec_;
  std::shared_ptr<StepContext> ctx_;
  engine::TemplateContext tctx_;
  StepDone done_;
  engine::Redactor secrets_;
  std::string where_ = "http";
  AddressPolicy policy_;
  bool check_addresses_ = false;
  // What curl reads and writes until the transfer ends.
  std::string url_;
  std::string body_;
  Slist headers_;
  Transfer t_;
  std::array<char, CURL_ERROR_SIZE> error_{};
  EasyHandle easy_;  // last: cleaned up before the buffers it points at
};

void global_init() {
  // Once per process, before any handle; the factory runs when the workflows
  // are built, before the worker's threads use it.
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (result != CURLE_OK) {
    throw std::runtime_error(std::string("http: curl_global_init failed: ") + curl_easy_strerror(result));
  }
}

}  // namespace

std::chrono::milliseconds parse_retry_after(std::string_view value,
                                            std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return 0ms;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return kMaxRetryAfter;
    const auto seconds = std::stoll(std::string(value));
    return std::min<milliseconds>(std::chrono::seconds(seconds), kMaxRetryAfter);
  }
  const std::string text(value);
  const std::time_t at = curl_getdate(text.c_str(), nullptr);
  if (at == -1) return 0ms;
  const auto delay = std::chrono::duration_cast<milliseconds>(
      std::chrono::system_clock::from_time_t(at) - now);
  return std::clamp<milliseconds>(delay, 0ms, kMaxRetryAfter);
}

void set_http_network_policy(const std::vector<std::string>& allow_hosts, const std::string& redis_host) {
  AddressPolicy policy;
  for (const std::string& entry : allow_hosts) {
    try {
      policy.allow.push_back(AllowEntry::parse(entry));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("--allow-hosts: " + std::string(e.what()));
    }
  }
  if (!redis_host.empty()) {
    if (const auto literal = IpAddress::parse(redis_host)) {
      policy.redis.push_back(*literal);
    } else {
      addrinfo hints{};
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* found = nullptr;
      if (::getaddrinfo(redis_host.c_str(), nullptr, &hints, &found) == 0) {
        for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
          if (auto ip = IpAddress::from_sockaddr(a->ai_addr, a->ai_addrlen)) policy.redis.push_back(*ip);
        }
        ::freeaddrinfo(found);
      }
    }
  }
  const std::lock_guard lock(policy_mutex);
  worker_policy = std::move(policy);
}

AsyncStepHandler http_async_kind(const Json& with) {
  auto spec = std::make_shared<const HttpSpec>(parse_spec(with));
  global_init();
  return [spec](std::shared_ptr<StepContext> ctx, StepDone done) {
    std::make_shared<Attempt>(spec, std::move(ctx), std::move(done))->start();
  };
}

StepHandler http_kind(const Json& with) { return blocking(http_async_kind(with)); }

}  // namespace steadfast::steps
