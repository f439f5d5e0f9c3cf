#!/usr/bin/env bash
# What the distributed run (ops/up.sh) is doing: each process, alive or not, and every queue holding messages
# (an _error queue with messages means something was refused: its messages carry the reason in MT-Fault-* headers).
#
#   ops/status.sh            processes and non-empty queues
#   ops/status.sh --queues   every queue as "name messages", one per line (for scripts)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source=ops/services.sh
. ops/services.sh
[ -s "$RUN/rabbitmq.state" ] || { echo "ops/status.sh: not up ($RUN/rabbitmq.state missing)" >&2; exit 1; }
# shellcheck source=/dev/null
. "$RUN/rabbitmq.state"

queues() { rmq_ctl list_queues -q --no-table-headers name messages 2>/dev/null | awk 'NF == 2 { print $1, $2 }'; }
if [ "${1:-}" = --queues ]; then queues; exit; fi

for name in "${SERVICES[@]}" device-agent; do
  [ -d "$RUN/$name" ] || continue
  if svc_alive "$name"; then echo "$name: running (pid $(svc_pid "$name"))"; else echo "$name: NOT running"; fi
done
echo "RabbitMQ node $RMQ_NODE on 127.0.0.1:$RMQ_PORT; queues with messages:"
queues | awk '$2 > 0 { n++; print "  " $1 ": " $2 } END { if (n == 0) print "  (none)" }'
