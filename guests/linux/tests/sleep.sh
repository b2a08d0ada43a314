#!/bin/sh
# Snapshot workload: sleeps $1 seconds (default 2) with an armed timer; a snapshot
# taken meanwhile must wake up after restore.
# Prints "sleep: start", then "sleep: woke" and "sleep: ok".
set -eu
echo "sleep: start"
sleep "${1:-2}"
echo "sleep: woke"
echo "sleep: ok"
