// The `exec` step kind: runs a program per attempt, JSON in on stdin, JSON out
// on stdout. No shell.
#pragma once

#include "steadfast/json.h"
#include "steadfast/step.h"

namespace steadfast::steps {

// `with`:
//   command  [argv0, args...]: templates (engine/template.h), at least argv0,
//            which is looked up in PATH
//   timeout  duration, default 60s (1ms..24h)
//   env      {NAME: template}: added to the inherited environment (overriding)
//   cwd      template: the working directory; default the worker's. It must
//            begin with a fixed directory (text or ${...}); a rendered cwd
//            with more ".." segments than that directory is refused
//   allow_option_args  default false: an argument whose {{...}} value makes it
//            start with '-' is refused (fatal), so run input cannot become an
//            option (git --upload-pack=...)
//   inherit_env  [NAME, ...]: worker variables passed on although they are
//            its own settings or secrets (below)
//
// command.0 cannot hold a {{...}} value: run input never chooses the program.
// The program inherits the worker's environment except its own settings and
// secrets: STEADFAST_*, REDIS_* and any variable holding a redis:// or
// rediss:// URL, unless inherit_env names it.
//
// The program gets, on stdin, one JSON object:
//   {"run_id", "workflow", "step", "attempt", "idempotency_key", "input",
//    "outputs": {step: output, ...}}
// and must print exactly one JSON value on stdout (at most 1 MiB): the output.
//   exit 0                      success (stdout not one JSON value = fatal)
//   exit 75 (EX_TEMPFAIL)       retryable
//   any other exit, a signal    fatal
// Error messages end with the last 2 KiB of stderr. Values read through ${...}
// are secrets: replaced by *** in every message and in the output.
//
// The program runs in its own process group. On timeout or ctx.cancelled()
// the whole group gets SIGTERM, then SIGKILL 2 s later; when the program
// exits, whatever it left running in its group is stopped the same way. The
// program is always reaped. Inherited descriptors other than 0-2 are closed.
//
// Every program is supervised by the process's one ProcessLoop thread
// (steps/process_loop.h): no thread waits per program. `done` runs on that
// thread.
[[nodiscard]] AsyncStepHandler exec_async_kind(const Json& with);
// The same, blocking the calling thread until the attempt ends.
[[nodiscard]] StepHandler exec_kind(const Json& with);

}  // namespace steadfast::steps
