#!/bin/sh
# spawn_and_hang.sh PIDFILE [--ignore-term]: spawn_and_hang.py for the timeout
# tests, in a shell that starts in milliseconds (python3 takes 0.6-1.1 s on a
# loaded 2-core machine: longer than the timeouts under test, so it was killed
# before it wrote its PID file). Starts a child `sleep 300` (same process
# group), writes "<own pid> <child pid>" to PIDFILE, then waits. --ignore-term
# ignores SIGTERM, so only SIGKILL stops it; the child inherits that.
[ "$2" = "--ignore-term" ] && trap '' TERM
sleep 300 &
echo "$$ $!" > "$1.tmp"
mv "$1.tmp" "$1"
wait
