#!/usr/bin/env bash
# Stops exactly what ops/up.sh started: the processes recorded in .run/*/pid and its RabbitMQ node.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=ops/services.sh
. ops/services.sh
RMQ_LOG_PREFIX=ops/down.sh
log() { echo "ops/down.sh: $*" >&2; }

for pidfile in "$RUN"/*/pid; do
  [ -s "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null
    log "stopped $(basename "$(dirname "$pidfile")") (pid $pid)"
  fi
  rm -f "$pidfile"
done

if [ -s "$RUN/rabbitmq.state" ]; then
  # shellcheck source=ops/rabbitmq-node.sh
  . ops/rabbitmq-node.sh
  # shellcheck disable=SC1090
  . "$RUN/rabbitmq.state"
  rmq_node_stop
  rm -f "$RUN/rabbitmq.state"
fi
log "down (data and logs stay in $RUN)"
