#!/usr/bin/env python3
"""spawn_and_hang.py PIDFILE [--ignore-term] [--exit]

Starts a child `sleep 300` (same process group), writes "<own pid> <child pid>"
to PIDFILE, then sleeps (or, with --exit, prints {"left": true} and exits at
once, leaving the child behind). --ignore-term ignores SIGTERM, so that only
SIGKILL stops it; the child inherits that.
"""
import json
import os
import signal
import subprocess
import sys
import time

if "--ignore-term" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen(["sleep", "300"])
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    f.write("%d %d" % (os.getpid(), child.pid))
os.rename(tmp, sys.argv[1])
if "--exit" in sys.argv:
    print(json.dumps({"left": True}))
    sys.stdout.flush()
    os._exit(0)
time.sleep(300)
