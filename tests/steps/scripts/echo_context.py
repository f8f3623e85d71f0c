#!/usr/bin/env python3
"""Prints {"context": <stdin JSON>, "argv", "env" ($STEP_TEST_VALUE), "path_set", "cwd",
"fds" (its open descriptors)}."""
import json
import os
import sys

context = json.load(sys.stdin)
print(json.dumps({
    "context": context,
    "argv": sys.argv[1:],
    "env": os.environ.get("STEP_TEST_VALUE"),
    "path_set": "PATH" in os.environ,
    "cwd": os.getcwd(),
    "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
}))
