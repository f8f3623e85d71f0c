#include "engine/schedule_policy.h"

#include <stdexcept>
#include <string>

#include "engine/quote.h"

namespace steadfast::engine {

CatchUp parse_catch_up(std::string_view text) {
  if (text == "none") return CatchUp::none;
  if (text == "one") return CatchUp::one;
  if (text == "all") return CatchUp::all;
  throw std::invalid_argument("catch_up " + quote(text) + ": expected none, one or all");
}

std::string_view to_string(CatchUp catch_up) {
  switch (catch_up) {
    case CatchUp::none:
      return "none";
    case CatchUp::one:
      return "one";
    case CatchUp::all:
      return "all";
  }
  return "?";
}

Overlap parse_overlap(std::string_view text) {
  if (text == "allow") return Overlap::allow;
  if (text == "skip") return Overlap::skip;
  if (text == "cancel_previous") return Overlap::cancel_previous;
  throw std::invalid_argument("overlap " + quote(text) + ": expected allow, skip or cancel_previous");
}

std::string_view to_string(Overlap overlap) {
  switch (overlap) {
    case Overlap::allow:
      return "allow";
    case Overlap::skip:
      return "skip";
    case Overlap::cancel_previous:
      return "cancel_previous";
  }
  return "?";
}

}  // namespace steadfast::engine
