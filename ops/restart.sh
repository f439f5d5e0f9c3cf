#!/usr/bin/env bash
# Restarts processes of the distributed run (ops/up.sh) with the settings the run was started with, e.g. after a crash:
#
#   ops/restart.sh orchestrator device-gateway
#   ops/restart.sh rabbitmq        the run's broker node, on its own data: durable queues, persistent messages, users and
#                                  permissions survive; the services reconnect by themselves
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
[ $# -gt 0 ] || { echo "usage: ops/restart.sh SERVICE|rabbitmq..." >&2; exit 2; }

for name in "$@"; do
  if [ "$name" = rabbitmq ]; then
    [ -s "$RUN/rabbitmq.state" ] || { log "no broker node in $RUN (is the run up?)"; exit 2; }
    # shellcheck source=/dev/null
    . "$RUN/rabbitmq.state"
    restarted=0
    rmq_node_restart || restarted=$?
    # The new launcher's pid, for ops/down.sh (written even when the start failed: the node may be half up).
    (umask 077; rmq_node_state >"$RUN/rabbitmq.state.new") && mv "$RUN/rabbitmq.state.new" "$RUN/rabbitmq.state"
    [ "$restarted" = 0 ] || { log "the broker node did not come back (its log: $RMQ_DIR/log)"; exit 1; }
    log "rabbitmq: node $RMQ_NODE, beam pid $(_rmq_beam_pid)"
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
