#!/usr/bin/env bash
# Restarts services of the distributed run (ops/up.sh) with the settings they were started with, e.g. after a crash:
#
#   ops/restart.sh orchestrator device-gateway
#
# A service still running is stopped first (TERM, then KILL after 10 s).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=ops/services.sh
. ops/services.sh
[ $# -gt 0 ] || { echo "usage: ops/restart.sh SERVICE..." >&2; exit 2; }
for name in "$@"; do
  [ -f "$RUN/$name/service.env" ] || { echo "ops/restart.sh: no $name in $RUN (is the run up?)" >&2; exit 2; }
  if svc_alive "$name"; then
    pid=$(svc_pid "$name")
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  from=$(svc_log_size "$name")
  echo "--- restarted $(date -u +%FT%TZ) ---" >>"$RUN/$name/service.log"
  svc_launch "$name"
  svc_wait_started "$name" "$from"
  echo "ops/restart.sh: $name: pid $(svc_pid "$name")" >&2
done
