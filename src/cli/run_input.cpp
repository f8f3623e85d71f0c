#include "cli/run_input.h"

#include <cerrno>
#include <cstring>
#include <cstdio>
#include <iterator>
#include <stdexcept>
#include <string>

#include "engine/quote.h"

namespace steadfast::cli {

namespace {

// nlohmann's message without its "[json.exception.parse_error.101] " tag.
std::string parse_error_text(const Json::parse_error& e) {
  std::string what = e.what();
  const std::size_t tag = what.find("] ");
  return tag == std::string::npos ? what : what.substr(tag + 2);
}

Json parse(const std::string& text, const std::string& source) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw std::invalid_argument(source + " is empty: the run's input must be JSON (for none: '{}')");
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
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) throw std::invalid_argument("--input -: cannot read stdin");
    return parse(text, "--input - (stdin)");
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
    while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) text.append(buf, n);
    // A directory opens but fails here (EISDIR).
    const int read_errno = std::ferror(file) != 0 ? errno : 0;
    std::fclose(file);
    if (read_errno != 0) throw std::invalid_argument(source + ": cannot read: " + std::strerror(read_errno));
    return parse(text, source);
  }
  return parse(std::string(arg), "--input");
}

}  // namespace steadfast::cli
