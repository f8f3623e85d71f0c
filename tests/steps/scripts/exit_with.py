#!/usr/bin/env python3
"""exit_with.py CODE [STDERR_TEXT [STDOUT_TEXT]]: writes the texts, exits CODE."""
import sys

code = int(sys.argv[1])
if len(sys.argv) > 2:
    sys.stderr.write(sys.argv[2])
if len(sys.argv) > 3:
    sys.stdout.write(sys.argv[3])
sys.exit(code)
