#!/usr/bin/env bash
# Stops every process of the test cluster and removes its state.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/versions.sh"
STATE="${MATHISON_CLUSTER_DIR:-$CLUSTER_CACHE_ROOT/cluster}"
if [ -f "$STATE/pids" ]; then
  # Reverse start order: nothing is left retrying against a vanished API server.
  pids=$(tac "$STATE/pids" | cut -d' ' -f2)
  for pid in $pids; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 1 100); do
    alive=0
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in $pids; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null; done
fi
# The backing servers' files may live outside the state directory (a private home): found by its link.
backing=""
[ -L "$STATE/backing" ] && backing=$(readlink -f "$STATE/backing")
# Every component names the state directory (or its backing directory) in its arguments: anything still matching is a leak.
if [ -d "$STATE" ] && left=$(pgrep -f -- "$STATE/" ; [ -n "$backing" ] && pgrep -f -- "$backing/"); then
  echo "cluster: processes still running after stop: $left" >&2
  exit 1
fi
[ -n "$backing" ] && rm -rf "$backing"
rm -rf "$STATE"
echo "cluster: stopped, $STATE removed" >&2
