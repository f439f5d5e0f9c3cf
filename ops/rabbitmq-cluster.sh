# shellcheck shell=bash
# A throwaway RabbitMQ cluster of N nodes on loopback, for tests and ops/up.sh --cluster. Source ops/rabbitmq-node.sh, then
# this file, then:
#
#   rmq_cluster_start N [STATE_DIR]
#                         starts N nodes (each as ops/rabbitmq-node.sh starts one: its own name, ports, data, config,
#                         listeners for AMQP, AMQPS, MQTTS and management on 127.0.0.1) sharing one directory
#                         (RMQC_DIR), one Erlang cookie, one epmd (RMQC_EPMD_PORT) and one PKI (RMQC_PKI_DIR: the broker CA,
#                         one server certificate for 127.0.0.1 and localhost, the test fleet CA when RMQ_TEST_FLEET_CA is
#                         set); the first forms the cluster, the others join it at boot. Returns when all N run as one
#                         cluster with every feature flag on (quorum queues need them) and the device sessions' policy
#                         mirrored. Writes each node's state to STATE_DIR/rabbitmq-K.state (K = 1..N; default RMQC_DIR; load it, then rmq_ctl,
#                         rmq_node_restart, rmq_node_stop act on that node) and the cluster's to RMQC_DIR/cluster.state.
#                         Leaves node 1's state loaded (rmq_ctl reaches the cluster through it).
#   rmq_cluster_stop      stops every node of the cluster whose state is loaded (rmq_cluster_state), then its epmd, and
#                         removes its directory; RMQC_STOPPED lists how each node stopped
#   rmq_cluster_state     the cluster's own settings as shell assignments
#   rmq_cluster_load FILE loads them (RMQC_DIR/cluster.state) in another shell; rmq_cluster_node K loads node K's state
#   rmq_cluster_uris SCHEME  the nodes as host:port, comma-separated, for SCHEME amqp, amqps, mqtts or management
#   rmq_cluster_describe  each node: K, name, AMQP, AMQPS, MQTTS and management ports, beam.smp pid (for kill -9 in tests)
#
# A node of the cluster keeps the cluster's epmd running when it stops (RMQ_EPMD_SHARED), and restarts on its own data
# (rmq_node_restart): the others keep its place, and it catches up. Memory: ~120 MiB per idle node.

RMQC_DIR='' RMQC_STATE_DIR='' RMQC_EPMD_PORT='' RMQC_EPMD_PID='' RMQC_PKI_DIR='' RMQC_SIZE=0 RMQC_STOPPED=''

_rmqc_log() { echo "${RMQ_LOG_PREFIX:-rabbitmq-cluster}: $*" >&2; }

rmq_cluster_start() {
  local -; set +e
  local size=${1:?rmq_cluster_start needs a number of nodes} k seed='' t0=$SECONDS
  RMQC_SIZE=$size
  RMQC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/decom-rabbitmq-cluster.XXXXXX")
  RMQC_STATE_DIR=${2:-$RMQC_DIR}
  # The nodes run as the rabbitmq user: they must reach their directories (and only the PKI's private keys are secret).
  chmod 755 "$RMQC_DIR"
  RMQC_PKI_DIR=$RMQC_DIR/pki
  RMQC_EPMD_PORT=$(_rmq_free_port $((14369 + RANDOM % 400))) || return 1
  # The cluster's own epmd, started here so that its pid is known: rmq_cluster_stop ends exactly it (a node's own epmd
  # would be a daemon nobody can name, and `epmd -kill` refuses while any node is registered).
  (exec setsid epmd -port "$RMQC_EPMD_PORT" -address 127.0.0.1 </dev/null >>"$RMQC_DIR/epmd.log" 2>&1) &
  RMQC_EPMD_PID=$!
  rmq_cluster_state >"$RMQC_DIR/cluster.state"
  for _ in $(seq 1 50); do _rmq_port_free "$RMQC_EPMD_PORT" || break; sleep 0.1; done
  local cookie; cookie=$(od -An -N24 -tx1 /dev/urandom | tr -dc '0-9a-f')
  export RMQ_CLUSTER_DIR=$RMQC_DIR RMQ_CLUSTER_EPMD_PORT=$RMQC_EPMD_PORT RMQ_CLUSTER_COOKIE=$cookie RMQ_CLUSTER_PKI_DIR=$RMQC_PKI_DIR
  _rmqc_log "starting a cluster of $size RabbitMQ nodes (epmd 127.0.0.1:$RMQC_EPMD_PORT, dir $RMQC_DIR)"
  # The first forms the cluster (and makes the PKI); the others then join it, started side by side (each probes its ports
  # with its own random offset; a port lost to a sibling makes its node retry with others).
  RMQ_CLUSTER_SEED=''
  rmq_node_start || { _rmqc_log "node 1 did not start"; _rmqc_unexport; return 1; }
  (umask 077; rmq_node_state >"$RMQC_STATE_DIR/rabbitmq-1.state")
  seed=$RMQ_NODE
  local starters=() failed=0 pid
  for k in $(seq 2 "$size"); do
    # shellcheck disable=SC2034  # read by rmq_node_start (ops/rabbitmq-node.sh)
    ( RMQ_CLUSTER_SEED=$seed
      rmq_node_start || exit 1
      umask 077; rmq_node_state >"$RMQC_STATE_DIR/rabbitmq-$k.state" ) &
    starters+=($!)
  done
  for pid in "${starters[@]}"; do wait "$pid" || failed=1; done
  _rmqc_unexport
  _rmqc_load 1
  [ "$failed" = 0 ] || { _rmqc_log "a node did not join the cluster"; return 1; }
  # Every node in, then every feature flag on: without them a quorum queue cannot be declared ("feature flag is disabled").
  rmq_ctl await_online_nodes "$size" --timeout 60 >/dev/null </dev/null || { _rmqc_log "the cluster did not form"; return 1; }
  rmq_ctl enable_feature_flag all >/dev/null </dev/null || { _rmqc_log "could not enable the feature flags"; return 1; }
  _rmq_device_sessions_policy mirrored || { _rmqc_log "could not set the device session policy"; return 1; }
  _rmqc_log "cluster of $size nodes up after $((SECONDS - t0))s (AMQPS $(rmq_cluster_uris amqps))"
}

# Loads node $1's state as globals (declare -p writes declarations: sourced inside a function they would be its locals).
_rmqc_unexport() { export -n RMQ_CLUSTER_DIR RMQ_CLUSTER_EPMD_PORT RMQ_CLUSTER_COOKIE RMQ_CLUSTER_PKI_DIR; unset RMQ_CLUSTER_COOKIE; }

_rmqc_load() { _rmqc_source_global "$RMQC_STATE_DIR/rabbitmq-$1.state"; }

_rmqc_source_global() { eval "$(sed -e 's/^declare -- /declare -g /' -e 's/^declare -a /declare -ga /' "$1")"; }

# Loads a cluster's state (its cluster.state file, $1) so that rmq_cluster_stop and rmq_cluster_uris act on it.
rmq_cluster_load() { _rmqc_source_global "$1"; }

rmq_cluster_node() { _rmqc_load "$1"; }

rmq_cluster_state() {
  declare -p RMQC_DIR RMQC_STATE_DIR RMQC_EPMD_PORT RMQC_EPMD_PID RMQC_PKI_DIR RMQC_SIZE
}

rmq_cluster_uris() {
  local scheme=$1 k port list=()
  for k in $(seq 1 "$RMQC_SIZE"); do
    [ -s "$RMQC_STATE_DIR/rabbitmq-$k.state" ] || continue
    # shellcheck source=/dev/null
    port=$( . "$RMQC_STATE_DIR/rabbitmq-$k.state"
      case $scheme in amqp) echo "$RMQ_PORT" ;; amqps) echo "$RMQ_AMQPS_PORT" ;; mqtts) echo "$RMQ_MQTTS_PORT" ;;
        management) echo "$RMQ_MANAGEMENT_PORT" ;; esac)
    list+=("127.0.0.1:$port")
  done
  (IFS=,; echo "${list[*]}")
}

# One line per node of the loaded cluster: K, node name, then its AMQP, AMQPS, MQTTS and management ports on 127.0.0.1 and the
# pid of its Erlang VM (beam.smp; '-' when it is not running), space-separated: what a test needs to reach a node or kill -9 it.
rmq_cluster_describe() {
  local k
  for k in $(seq 1 "$RMQC_SIZE"); do
    [ -s "$RMQC_STATE_DIR/rabbitmq-$k.state" ] || continue
    ( _rmqc_load "$k"
      beam=$(_rmq_beam_pid) && _rmq_alive "$beam" || beam=-
      echo "$k $RMQ_NODE $RMQ_PORT $RMQ_AMQPS_PORT $RMQ_MQTTS_PORT $RMQ_MANAGEMENT_PORT $beam" )
  done
}

rmq_cluster_stop() {
  local -; set +e
  [ -n "$RMQC_DIR" ] && [ -d "$RMQC_DIR" ] || return 0
  local k t0=$SECONDS pids=() pid
  RMQC_STOPPED=''
  # Side by side (each rabbitmqctl stop costs seconds of CLI start-up); each says how its node stopped in a file.
  for k in $(seq 1 "$RMQC_SIZE"); do
    [ -s "$RMQC_STATE_DIR/rabbitmq-$k.state" ] || continue
    ( _rmqc_load "$k"; rmq_node_stop; echo "${RMQ_STOPPED:-not-running}" >"$RMQC_DIR/stopped-$k" ) &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  for k in $(seq 1 "$RMQC_SIZE"); do
    [ -s "$RMQC_DIR/stopped-$k" ] && RMQC_STOPPED+="rabbitmq-$k:$(cat "$RMQC_DIR/stopped-$k") "
  done
  if _rmq_alive "$RMQC_EPMD_PID"; then
    kill "$RMQC_EPMD_PID" 2>/dev/null
    for _ in $(seq 1 25); do _rmq_alive "$RMQC_EPMD_PID" || break; sleep 0.2; done
    kill -KILL "$RMQC_EPMD_PID" 2>/dev/null
    wait "$RMQC_EPMD_PID" 2>/dev/null
  fi
  rm -rf "$RMQC_DIR"
  _rmqc_log "cluster stopped and removed ($((SECONDS - t0))s: $RMQC_STOPPED)"
  RMQC_DIR=''
}
