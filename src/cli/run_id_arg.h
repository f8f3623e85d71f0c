// Run ids as a user types them on the command line.
#pragma once

#include <string>
#include <string_view>

namespace steadfast::cli {

// The canonical run id for `text` typed in any case (ULIDs are
// case-insensitive: "01jd..." is "01JD..."). Throws std::invalid_argument
// "invalid <what> '<text>' (expected a run id: ...)" when it is not one; `what`
// names the argument ("run id", "--cursor").
[[nodiscard]] std::string run_id_arg(std::string_view text, std::string_view what = "run id");

}  // namespace steadfast::cli
