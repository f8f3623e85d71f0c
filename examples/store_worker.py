#!/usr/bin/env python3
"""An external worker: the `store` task of examples/document-analysis.yaml,
written in Python and served by a long-lived process (docs/worker-protocol.md).

    STEADFAST_URL=http://127.0.0.1:8080 PYTHONPATH=clients/python/src \\
        python3 examples/store_worker.py

(`steadfast dev --exec "env PYTHONPATH=clients/python/src python3
examples/store_worker.py"` starts it beside the API and sets STEADFAST_URL.)

The task writes {"run_id", "input"} — the document id, its summaries and
keywords — to <STORE_DIR>/<run_id>.json (default ./results), to a temporary
name first, then renamed: a reader never sees half a file, and a retry of the
same run overwrites the same file, so storing is idempotent. A disk error is
raised (a retryable failure: the engine tries again after its backoff);
a missing input is `Fatal` (no retry would help).
Standard library only, besides the `steadfast` package.
"""

import json
import os
import tempfile

from steadfast import Fatal, TaskContext, Worker

STORE_DIR = os.environ.get("STORE_DIR", "results")

worker = Worker(os.environ.get("STEADFAST_URL", "http://127.0.0.1:8080"),
                token=os.environ.get("STEADFAST_TOKEN"), queues=["py"], concurrency=8)


@worker.task("store")
def store(ctx: TaskContext) -> dict:
    if not isinstance(ctx.input, dict) or "document_id" not in ctx.input:
        raise Fatal("the input has no document_id: " + json.dumps(ctx.input)[:200])
    data = json.dumps({"run_id": ctx.run_id, "input": ctx.input}, indent=2, sort_keys=True).encode()
    os.makedirs(STORE_DIR, exist_ok=True)
    path = os.path.join(STORE_DIR, ctx.run_id + ".json")
    fd, tmp = tempfile.mkstemp(dir=STORE_DIR, prefix=".store-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return {"stored": True, "path": os.path.abspath(path), "bytes": len(data)}


if __name__ == "__main__":
    worker.run()  # until SIGTERM / SIGINT: drains, then hands back what is left
