#!/usr/bin/env bash
# Restarts processes of the distributed run (ops/up.sh) with the settings the run was started with, e.g. after a crash:
#
#   ops/restart.sh orchestrator device-gateway
#   ops/restart.sh rabbitmq        the run's broker node, on its own data: durable queues, persistent messages, users and
#                                  permissions survive; the services reconnect by themselves
#   ops/restart.sh rabbitmq-2      node 2 of the run's cluster (ops/up.sh --cluster), on its own data: it rejoins the
#                                  cluster and its quorum queue replicas catch up
#   ops/restart.sh orchestrator-2  replica 2 of a service (ops/up.sh --replicas/--cluster)
#
# A service still running is stopped first (TERM, then KILL after 30 s). A service gets exactly the run's settings (the
# Section__Key variables ops/up.sh was given, kept in .run/settings.env, and its own .run/NAME/service.env): settings in
# this script's environment do not reach it (they are named on stderr); to change them, ops/down.sh and ops/up.sh again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=ops/services.sh
. ops/services.sh
RMQ_LOG_PREFIX=ops/restart.sh
log() { echo "ops/restart.sh: $*" >&2; }
[ $# -gt 0 ] || { echo "usage: ops/restart.sh SERVICE[-K]|rabbitmq|rabbitmq-K..." >&2; exit 2; }

for name in "$@"; do
  if [[ $name =~ ^rabbitmq(-[0-9]+)?$ ]]; then
    [ -s "$RUN/$name.state" ] || { log "no broker node $name in $RUN (is the run up? nodes: $(run_broker_nodes | paste -sd ' ' -))"; exit 2; }
    # shellcheck source=/dev/null
    . "$RUN/$name.state"
    restarted=0
    rmq_node_restart || restarted=$?
    # The new launcher's pid, for ops/down.sh (written even when the start failed: the node may be half up).
    (umask 077; rmq_node_state >"$RUN/$name.state.new") && mv "$RUN/$name.state.new" "$RUN/$name.state"
    [ "$restarted" = 0 ] || { log "the broker node did not come back (its log: $RMQ_DIR/log)"; exit 1; }
    log "$name: node $RMQ_NODE, beam pid $(_rmq_beam_pid)"
    continue
  fi
  [ -f "$RUN/$name/service.env" ] || { log "no $name in $RUN (is the run up?)"; exit 2; }
  ignored=$(run_settings_ignored | paste -sd ' ' -)
  [ -z "$ignored" ] || log "$name keeps the run's settings; not applied from this environment: $ignored"
  svc_stop "$name" >&2 || true
  from=$(svc_log_size "$name")
  echo "--- restarted $(date -u +%FT%TZ) ---" >>"$RUN/$name/service.log"
  svc_launch "$name"
  svc_wait_started "$name" "$from"
  log "$name: pid $(svc_pid "$name")"
done
