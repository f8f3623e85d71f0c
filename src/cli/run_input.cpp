#include "cli/run_input.h"

#include <cerrno>
#include <cstring>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "engine/json_size.h"
#include "engine/quote.h"
#include "steadfast/workflow.h"

namespace steadfast::cli {

namespace {

// The most text --input reads: a run's input is at most kMaxInputBytes of
// compact JSON; this leaves room for indentation, and stops `@/dev/zero`.
constexpr std::size_t kMaxInputTextBytes = 8 * kMaxInputBytes;

// nlohmann's message without its "[json.exception.parse_error.101] " tag.
std::string parse_error_text(const Json::parse_error& e) {
  std::string what = e.what();
  const std::size_t tag = what.find("] ");
  return tag == std::string::npos ? what : what.substr(tag + 2);
}

[[noreturn]] void too_large(const std::string& source) {
  throw std::invalid_argument(source + " is larger than " + std::to_string(kMaxInputTextBytes >> 20) +
                              " MiB (a run's input is at most " + std::to_string(kMaxInputBytes >> 20) +
                              " MiB of JSON)");
}

Json parse(const std::string& text, const std::string& source) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw std::invalid_argument(source + " is empty: the run's input must be JSON (for none: '{}')");
  }
  // Refused before parsing: what nlohmann would allocate for it (x20 and more).
  if (engine::parsed_size_estimate(text).bytes > engine::kMaxParsedBytes) {
    throw std::invalid_argument(source + " is too large once parsed (more than " +
                                std::to_string(engine::kMaxParsedBytes >> 20) + " MiB)");
  }
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw std::invalid_argument(source + " is not JSON: " + parse_error_text(e));
  }
}

}  // namespace

Json read_run_input(std::string_view arg, std::istream& in) {
  if (arg == "-") {
    const std::string source = "--input - (stdin)";
    std::string text;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      text.append(buf, static_cast<std::size_t>(in.gcount()));
      if (text.size() > kMaxInputTextBytes) too_large(source);
    }
    if (in.bad()) throw std::invalid_argument(source + ": cannot read stdin");
    return parse(text, source);
  }
  if (arg.starts_with('@')) {
    const std::string path(arg.substr(1));
    const std::string source = "--input file " + engine::quote(path, 200);
    if (path.empty()) throw std::invalid_argument("--input @ needs a file path after '@' (--input @input.json)");
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) throw std::invalid_argument(source + ": cannot open: " + std::strerror(errno));
    std::string text;
    char buf[65536];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) {
      text.append(buf, n);
      if (text.size() > kMaxInputTextBytes) {
        std::fclose(file);
        too_large(source);
      }
    }
    // A directory opens but fails here (EISDIR).
    const int read_errno = std::ferror(file) != 0 ? errno : 0;
    std::fclose(file);
    if (read_errno != 0) throw std::invalid_argument(source + ": cannot read: " + std::strerror(read_errno));
    return parse(text, source);
  }
  return parse(std::string(arg), "--input");
}

}  // namespace steadfast::cli
