// A Lua script sent by EVALSHA. The client loads it (SCRIPT LOAD) on first use
// on each connection and re-loads it transparently after a NOSCRIPT (a
// SCRIPT FLUSH or a Redis restart). Immutable; safe to share between threads.
#pragma once

#include <string>

namespace steadfast::redis {

class Script {
 public:
  // name is for error messages and logs ("complete", "submit", ...).
  Script(std::string name, std::string source);

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::string& source() const noexcept { return source_; }
  // Lower-case hex SHA1 of the source, as Redis computes it.
  [[nodiscard]] const std::string& sha1() const noexcept { return sha1_; }

 private:
  std::string name_;
  std::string source_;
  std::string sha1_;
};

// Lower-case hex SHA1 of data.
std::string sha1_hex(std::string_view data);

}  // namespace steadfast::redis
