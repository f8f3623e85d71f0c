#!/usr/bin/env python3
"""big_output.py stdout|stderr BYTES [MARKER]: writes BYTES of 'x' then MARKER to the
stream; exits 0 for stdout, 3 for stderr."""
import sys

stream = sys.stdout if sys.argv[1] == "stdout" else sys.stderr
stream.write("x" * int(sys.argv[2]))
if len(sys.argv) > 3:
    stream.write(sys.argv[3])
stream.flush()
sys.exit(0 if sys.argv[1] == "stdout" else 3)
