#!/usr/bin/env bash
# Stops exactly what ops/up.sh started: the processes recorded in .run/*/pid (every replica), its RabbitMQ node or the
# nodes of its cluster (and the cluster's epmd), and its PostgreSQL. Reports on stdout how each stopped: a service on TERM,
# or only on KILL after 30 s (DECOM_STOP_GRACE); a broker node on rabbitmqctl stop, or killed; PostgreSQL on a fast
# shutdown, or killed. Warns (stderr) only when something did not stop cleanly. The broker's and PostgreSQL's data go
# with them (a run is throwaway); the services' directories and logs stay.
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
if [ -s "$RUN/rabbitmq-cluster.state" ]; then
  # shellcheck source=ops/rabbitmq-cluster.sh
  . ops/rabbitmq-cluster.sh
  rmq_cluster_load "$RUN/rabbitmq-cluster.state"
  rmq_cluster_stop
  for stopped in $RMQC_STOPPED; do
    node=${stopped%%:*}
    case ${stopped#*:} in
      clean) echo "$node: stopped cleanly (rabbitmqctl stop)" ;;
      killed) echo "$node: WARNING: did not stop on rabbitmqctl stop: killed"; unclean+=("$node (killed)") ;;
      *) echo "$node: was not running" ;;
    esac
  done
  rm -f "$RUN"/rabbitmq-[0-9]*.state "$RUN/rabbitmq-cluster.state"
fi
if [ -s "$RUN/postgres.state" ]; then
  # shellcheck source=ops/postgres.sh
  . ops/postgres.sh
  PG_LOG_PREFIX=ops/down.sh
  # shellcheck source=/dev/null
  . "$RUN/postgres.state"
  pg_server_stop
  case $PG_STOPPED in
    clean) echo "postgres: stopped cleanly (fast shutdown)" ;;
    killed) echo "postgres: WARNING: did not stop in 30 s: killed"; unclean+=("postgres (killed)") ;;
    *) echo "postgres: was not running" ;;
  esac
  rm -f "$RUN/postgres.state"
fi
if [ "${#unclean[@]}" -eq 0 ]; then
  echo "down: everything stopped cleanly${gone[*]:+ (not running before: ${gone[*]})} (data and logs stay in $RUN)"
else
  echo "down: NOT clean: ${unclean[*]} (data and logs stay in $RUN)"
  log "WARNING: did not stop cleanly: ${unclean[*]}"
fi
