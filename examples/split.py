#!/usr/bin/env python3
"""An example `exec` step: splits a fetched document into chunks of words.

    - name: split
      kind: exec
      with: {command: [python3, examples/split.py, --from, fetch, --words, 100]}

Reads the exec contract's JSON on stdin (README, "http and exec steps") and
prints {"chunks": ["...", ...]}: the `text` of the output of the step named
by --from (default fetch), cut into chunks of at most --words words (default
100), in order. A map step then runs once per chunk:
`map: {over: "{{steps.split.output.chunks}}"}`. Standard library only.
"""

import argparse
import json
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--from", dest="source", default="fetch")
    parser.add_argument("--words", type=int, default=100)
    args = parser.parse_args()
    if args.words < 1:
        print("--words must be at least 1", file=sys.stderr)
        return 2
    run = json.load(sys.stdin)
    output = run.get("outputs", {}).get(args.source)
    if not isinstance(output, dict) or not isinstance(output.get("text"), str):
        print(f"step {args.source!r} has no text output to split", file=sys.stderr)
        return 1
    words = output["text"].split()
    chunks = [" ".join(words[i:i + args.words]) for i in range(0, len(words), args.words)]
    json.dump({"chunks": chunks}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
