#!/usr/bin/env python3
"""The demo's client: submits runs through the HTTP API, waits for all of them
(long polls), prints a summary. Standard library only.

    demo_client.py API_URL LLM_URL RUNS
Exit status 0 only if every run completed.
"""
import concurrent.futures
import json
import sys
import time
import urllib.request


def call(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=90) as resp:
        return resp.status, json.loads(resp.read() or b"null")


def main():
    api, llm, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    start = time.monotonic()
    ids = []
    for i in range(runs):
        status, body = call("POST", f"{api}/v1/workflows/document-analysis/runs",
                            {"input": {"document_id": f"doc-{i:04d}"}},
                            {"Idempotency-Key": f"demo-{i}"})
        ids.append(body["run_id"])
    took = time.monotonic() - start
    print(f"submitted {runs} runs in {took * 1000:.0f} ms ({took * 1000 / runs:.1f} ms each, "
          "each answered 202 before any work ran)", flush=True)

    def wait(run_id):
        while True:
            _, run = call("GET", f"{api}/v1/runs/{run_id}?wait=30s")
            if run["status"] in ("completed", "failed", "cancelled"):
                return run

    done = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        for run in pool.map(wait, ids):
            done.append(run)
            if len(done) % max(1, runs // 5) == 0 or len(done) == runs:
                print(f"  {len(done)}/{runs} runs finished", flush=True)
    elapsed = time.monotonic() - start

    completed = sum(1 for r in done if r["status"] == "completed")
    def item_retries(run):
        # A map step's items retry on their own: their attempts are on its items page.
        n = 0
        for s in run["steps"]:
            if s.get("items"):
                _, page = call("GET", f"{api}/v1/runs/{run['id']}/steps/{s['name']}/items?limit=1000")
                n += sum(max(0, i["attempts"] - 1) for i in page["items"])
        return n

    retried = sum(max(0, s["attempts"] - 1) for r in done for s in r["steps"])
    retried += sum(item_retries(r) for r in done)
    _, llm_stats = call("GET", f"{llm}/_stats")
    example = next((r for r in done if r["status"] == "completed"), done[0])
    print()
    print("one run, as GET /v1/runs/{id} shows it:")
    for s in example["steps"]:
        items = s.get("items")
        each = f"  ({items['completed']} of {items['total']} items)" if items else ""
        print(f"  {s['name']:10} {s['status']:10} attempts {s['attempts']}{each}")
    print()
    print(f"summary: {runs} runs, {completed} completed, {runs - completed} not completed; "
          f"{retried} retried attempts; the LLM answered {llm_stats['rate_limited']} x 429 "
          f"(rate-limit waits) and {llm_stats['errors']} x 500 of {llm_stats['requests']} calls; "
          f"{elapsed:.1f} s")
    return 0 if completed == runs else 1


if __name__ == "__main__":
    sys.exit(main())
