#!/usr/bin/env bash
# Stops exactly what ops/up.sh started: the processes recorded in .run/*/pid and its RabbitMQ node. Reports on stdout how
# each stopped: a service on TERM, or only on KILL after 30 s (DECOM_STOP_GRACE); the broker on rabbitmqctl stop, or
# killed. Warns (stderr) only when something did not stop cleanly.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source=ops/services.sh
. ops/services.sh
RMQ_LOG_PREFIX=ops/down.sh
log() { echo "ops/down.sh: $*" >&2; }

unclean=() gone=()
for pidfile in "$RUN"/*/pid; do
  [ -s "$pidfile" ] || continue
  name=$(basename "$(dirname "$pidfile")")
  svc_alive "$name" || gone+=("$name")
  svc_stop "$name" || unclean+=("$name (KILL)")
done

if [ -s "$RUN/rabbitmq.state" ]; then
  # shellcheck source=/dev/null
  . "$RUN/rabbitmq.state"
  node=$RMQ_NODE
  rmq_node_stop
  case $RMQ_STOPPED in
    clean) echo "rabbitmq: node $node stopped cleanly (rabbitmqctl stop)" ;;
    killed) echo "rabbitmq: WARNING: node $node did not stop on rabbitmqctl stop: killed"; unclean+=("rabbitmq (killed)") ;;
    *) echo "rabbitmq: node $node was not running" ;;
  esac
  rm -f "$RUN/rabbitmq.state"
fi
if [ "${#unclean[@]}" -eq 0 ]; then
  echo "down: everything stopped cleanly${gone[*]:+ (not running before: ${gone[*]})} (data and logs stay in $RUN)"
else
  echo "down: NOT clean: ${unclean[*]} (data and logs stay in $RUN)"
  log "WARNING: did not stop cleanly: ${unclean[*]}"
fi
