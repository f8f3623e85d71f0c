#include "cli/run_id_arg.h"

#include <stdexcept>

#include "engine/quote.h"
#include "store/run_id.h"

namespace steadfast::cli {

std::string run_id_arg(std::string_view text, std::string_view what) {
  std::string id = store::canonical_run_id(text);
  if (!store::is_valid_run_id(id)) {
    throw std::invalid_argument("invalid " + std::string(what) + " " + engine::quote(text, 80) +
                                " (expected a run id: 26 characters of Crockford base32, in any case)");
  }
  return id;
}

}  // namespace steadfast::cli
