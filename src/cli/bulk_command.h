// Bulk jobs from the CLI (store/bulk.h): `dlq replay --all` and `cancel
// --all` make a job, run it here (or follow the `serve` that took it first)
// and print its result; `steadfast bulk [ID]` shows jobs.
#pragma once

#include "cli/common.h"
#include "engine/bulk.h"

namespace steadfast::cli {

// Makes the job (audited as the CLI's user), walks it to its end and prints
// its counts (`json`: the job as GET /v1/bulk/{id} answers). Progress goes
// to stderr. If this process dies, a running `serve` goes on with the job.
void run_bulk(const Connection& conn, const engine::BulkRequest& request, bool json);

}  // namespace steadfast::cli
