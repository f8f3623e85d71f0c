#include "engine/wait_due.h"

#include <charconv>

#include "engine/quote.h"
#include "engine/run_filter.h"
#include "engine/template.h"

namespace steadfast::engine {

std::int64_t wait_due_ms(const WaitSpec& spec, const Json& input, const std::map<std::string, Json>& outputs,
                         std::optional<std::int64_t> stored_ms, std::int64_t claimed_at_ms) {
  if (stored_ms) return *stored_ms;
  if (spec.until.empty()) return claimed_at_ms + spec.duration.count();
  std::string text;
  try {
    Redactor none;
    text = Template::parse(spec.until).render(TemplateContext(input, outputs), none);
  } catch (const std::exception& e) {
    throw WaitDueError(std::string("`until`: ") + e.what());
  }
  std::optional<std::int64_t> at;
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    std::int64_t ms = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec == std::errc() && end == text.data() + text.size()) at = ms;
  } else {
    at = parse_rfc3339_ms(text);
  }
  if (!at) {
    throw WaitDueError("`until` gave " + quote(text, 80) +
                       ", which is neither an RFC 3339 time (2026-12-24T08:00:00Z) nor Unix milliseconds");
  }
  if (*at > claimed_at_ms + kMaxWait.count()) {
    throw WaitDueError("`until` gave " + quote(text, 80) + ", more than " +
                       std::to_string(kMaxWait.count() / 86'400'000) + " days ahead");
  }
  return *at;
}

}  // namespace steadfast::engine
