#!/usr/bin/env python3
"""An example `exec` step: stores a run's result as a JSON file.

Use it from a workflows file:

    - name: store
      kind: exec
      with:
        command: [python3, examples/store.py, --dir, /var/lib/results, --from, call]
        timeout: 30s

The contract of every exec step (see README, "http and exec steps"):

  stdin   one JSON object: {"run_id", "workflow", "step", "attempt",
          "idempotency_key", "input", "outputs": {step name: output}}
  stdout  exactly one JSON value: the step's output
  exit    0 = done; 75 (EX_TEMPFAIL) = try again later; anything else = failed
          for good (the run goes to the dead-letter queue); the end of stderr
          is shown in the error

This step writes {"run_id", "workflow", "input", "result"} to
<dir>/<workflow>/<run_id>.json, where "result" is the output of the step
named by --from (default: every earlier output, by step name). The file is
written to a temporary name and renamed, so a reader never sees half of it,
and a retry of the same run overwrites the same file: storing is idempotent.
It prints {"stored": true, "path": ..., "bytes": ...}.

Options: --dir DIR (default $STORE_DIR, else ./results), --from STEP.
Only the standard library is used.
"""

import argparse
import errno
import json
import os
import sys
import tempfile

EX_TEMPFAIL = 75
# Errors another attempt may not hit (a full disk can be cleaned, a busy
# network filesystem may answer later).
TRANSIENT = {errno.ENOSPC, errno.EAGAIN, errno.EBUSY, errno.EINTR, errno.ETIMEDOUT, errno.EIO}


def fail(message, code):
    sys.stderr.write("store: %s\n" % message)
    sys.exit(code)


def main():
    parser = argparse.ArgumentParser(description="Store a run's result as a JSON file.")
    parser.add_argument("--dir", default=os.environ.get("STORE_DIR", "results"))
    parser.add_argument("--from", dest="from_step")
    args = parser.parse_args()

    try:
        context = json.load(sys.stdin)
    except ValueError as e:
        fail("stdin is not the step context JSON: %s" % e, 2)
    outputs = context.get("outputs", {})
    if args.from_step is None:
        result = outputs
    elif args.from_step in outputs:
        result = outputs[args.from_step]
    else:
        fail("no output of step %r (earlier steps: %s)" % (args.from_step, ", ".join(outputs) or "none"), 2)

    record = {
        "run_id": context["run_id"],
        "workflow": context["workflow"],
        "input": context.get("input"),
        "result": result,
    }
    folder = os.path.join(args.dir, context["workflow"])
    path = os.path.join(folder, context["run_id"] + ".json")
    data = json.dumps(record, indent=2, sort_keys=True).encode("utf-8")
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".store-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as e:
        fail("cannot write %s: %s" % (path, e), EX_TEMPFAIL if e.errno in TRANSIENT else 1)

    json.dump({"stored": True, "path": os.path.abspath(path), "bytes": len(data)}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
