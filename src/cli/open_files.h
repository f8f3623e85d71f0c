// The open-files limit of a process that holds many connections.
#pragma once

namespace steadfast::cli {

// Raises this process's open-files soft limit (RLIMIT_NOFILE) to its hard
// limit: a worker holding thousands of HTTP calls needs more than the usual
// soft 1,024. Returns the soft limit now in force; -1 = unlimited or unknown.
long long raise_open_files_limit();

}  // namespace steadfast::cli
