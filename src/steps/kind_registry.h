// Step kinds by name: how a workflows file's `kind: sleep, with: {ms: 200}`
// becomes a StepHandler.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "steadfast/json.h"
#include "steadfast/step.h"

namespace steadfast::steps {

// Makes a handler from the step's `with` parameters (an object, or null when
// absent). Throws std::invalid_argument naming the key for a bad parameter;
// called once per step when the workflows are built, never per attempt.
using Factory = std::function<StepHandler(const Json& with)>;
// The same for a kind whose attempts hold no thread while they wait.
using AsyncFactory = std::function<AsyncStepHandler(const Json& with)>;

// Not thread-safe to modify; safe to share once built.
class KindRegistry {
 public:
  // Throws std::invalid_argument for an empty kind or factory, or a kind
  // already registered.
  // nonblocking: its handlers never block (StepOptions::nonblocking).
  void add(std::string kind, Factory f, bool nonblocking = false);
  // A kind with both forms: workflows built from a file use the asynchronous
  // one; `f` (blocking, for a caller that has a thread to give) must behave
  // the same. Throws as add().
  void add_async(std::string kind, Factory f, AsyncFactory async);
  // nullptr when no such kind; the pointer is valid until the next add().
  [[nodiscard]] const Factory* find(std::string_view kind) const;
  // nullptr when no such kind or the kind has no asynchronous form.
  [[nodiscard]] const AsyncFactory* find_async(std::string_view kind) const;
  // True for a kind added as nonblocking; false for others and unknown kinds.
  [[nodiscard]] bool nonblocking(std::string_view kind) const;
  // Registered kinds, sorted.
  [[nodiscard]] std::vector<std::string> kinds() const;

 private:
  struct Kind {
    Factory factory;
    bool nonblocking = false;
    AsyncFactory async;  // empty: none
  };
  std::map<std::string, Kind, std::less<>> factories_;
};

// The kinds every worker knows: http and exec (http.h, exec.h) and the test
// kinds noop, sleep, stamp, fail and crash.
[[nodiscard]] KindRegistry builtin_kinds();

}  // namespace steadfast::steps
