#!/usr/bin/env bash
# What the distributed run (ops/up.sh) is doing: each process, alive or not, and every queue holding messages
# (an _error queue with messages means something was refused: its messages carry the reason in MT-Fault-* headers).
#
#   ops/status.sh            processes and non-empty queues
#   ops/status.sh --queues   every queue as "name messages", one per line (for scripts)
#   ops/status.sh --pids     every process of the run as "name pid", one per line ('-' when it is not running): each
#                            service replica, and each broker node's Erlang VM (beam.smp) as rabbitmq or rabbitmq-K — what a
#                            test kills with kill -9
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source=ops/services.sh
. ops/services.sh
nodes=$(run_broker_nodes)
[ -n "$nodes" ] || { echo "ops/status.sh: not up (no $RUN/rabbitmq.state nor rabbitmq-K.state)" >&2; exit 1; }

# node_state NAME: loads broker node NAME's state (rabbitmq, rabbitmq-K).
node_state() { eval "$(sed -e 's/^declare -- /declare -g /' -e 's/^declare -a /declare -ga /' "$RUN/$1.state")"; }
node_beam() { local beam; beam=$(_rmq_beam_pid) && _rmq_alive "$beam" && echo "$beam"; }

# The queues, asked of the first node that answers (a cluster's queues are the cluster's).
queues() {
  local node
  for node in $nodes; do
    node_state "$node"
    node_beam >/dev/null || continue
    rmq_ctl list_queues -q --no-table-headers name messages 2>/dev/null </dev/null | awk 'NF == 2 { print $1, $2 }'
    return
  done
}
if [ "${1:-}" = --queues ]; then queues; exit; fi
if [ "${1:-}" = --pids ]; then
  for name in $(run_instances) device-agent; do
    [ -d "$RUN/$name" ] || continue
    if svc_alive "$name"; then echo "$name $(svc_pid "$name")"; else echo "$name -"; fi
  done
  for node in $nodes; do node_state "$node"; echo "$node $(node_beam || echo -)"; done
  exit
fi

for name in $(run_instances) device-agent; do
  [ -d "$RUN/$name" ] || continue
  if svc_alive "$name"; then echo "$name: running (pid $(svc_pid "$name"))"; else echo "$name: NOT running"; fi
done
for node in $nodes; do
  node_state "$node"
  if beam=$(node_beam); then echo "$node: RabbitMQ node $RMQ_NODE on 127.0.0.1:$RMQ_PORT (AMQPS $RMQ_AMQPS_PORT, MQTTS $RMQ_MQTTS_PORT), beam pid $beam"
  else echo "$node: RabbitMQ node $RMQ_NODE NOT running"; fi
done
if [ -s "$RUN/postgres.state" ]; then
  # shellcheck source=/dev/null
  . "$RUN/postgres.state"
  echo "postgres: 127.0.0.1:$PG_PORT (data $PG_DIR)"
fi
echo "queues with messages:"
queues | awk '$2 > 0 { n++; print "  " $1 ": " $2 } END { if (n == 0) print "  (none)" }'
