# shellcheck shell=bash
# Throwaway RabbitMQ node for tests and local runs. Source this file, then:
#
#   rmq_node_start   start a private node; sets RMQ_NODE, RMQ_PORT, RMQ_URI, RMQ_DIR, RMQ_AMQPS_PORT, RMQ_MQTTS_PORT,
#                    RMQ_PKI_DIR, RMQ_MANAGEMENT_PORT
#   rmq_node_stop    stop exactly that node (and its epmd), remove its directory; RMQ_STOPPED says how it stopped
#   rmq_node_restart stop the node and start it again on its own directory, name, ports, TLS material and config
#   rmq_node_state   the node's state as shell assignments (ops/up.sh keeps them in .run/rabbitmq.state)
#
# Besides plain AMQP, the node listens for AMQP over TLS and for MQTT over TLS (devices; no plain MQTT), all on 127.0.0.1,
# with a broker CA and server certificate made at start by ops/pki.sh in RMQ_PKI_DIR (its own directory: private keys
# never outlive it). Devices log in by their client certificate alone (its CN is the broker user) in virtual host
# RMQ_MQTT_VHOST; every client certificate is checked against its CA's CRL. Set RMQ_TEST_FLEET_CA=NAME before starting
# to make a test fleet CA of that name there (NAME.crt, NAME.key: tests issue device certificates with it).
# The management plugin's HTTP API listens on 127.0.0.1:RMQ_MANAGEMENT_PORT: the credentials service makes and removes
# devices' broker users through it (statistics off: nothing here reads them, and they cost the broker under load).
#
# The node never touches the system-wide RabbitMQ installation: its own node name,
# data/log/config directory (mktemp), Erlang cookie, AMQP port, distribution port
# and epmd instance, everything bound to 127.0.0.1. The default guest/guest user
# works from loopback.
#
# Overrides (env): DECOM_RABBITMQ_PORT (AMQP port; otherwise a free one near 5682),
# DECOM_RABBITMQ_START_TIMEOUT (seconds, default 60).

RMQ_BIN=/usr/lib/rabbitmq/bin   # the real scripts, not Debian's su-wrappers in /usr/sbin
RMQ_NOFILE=65536                 # the node's file descriptor limit (see _rmq_start_once)
# shellcheck disable=SC2034  # RMQ_URI and friends are read by the sourcing script
RMQ_NODE='' RMQ_PORT='' RMQ_URI='' RMQ_DIR='' RMQ_PIDFILE='' RMQ_LAUNCHER_PID=''
RMQ_DIST_PORT='' RMQ_EPMD_PORT='' RMQ_WAITER_PID=''
RMQ_AMQPS_PORT='' RMQ_MQTTS_PORT='' RMQ_MANAGEMENT_PORT='' RMQ_PKI_DIR='' RMQ_MQTT_VHOST=iot RMQ_TEST_FLEET_CA=${RMQ_TEST_FLEET_CA:-}
RMQ_ENV=() RMQ_ARGV=() RMQ_STOPPED=''
# A node of a cluster (ops/rabbitmq-cluster.sh): it shares the cluster's epmd (RMQ_EPMD_SHARED=1: stopping one node leaves it
# running for the others), cookie and PKI directory, and a node other than the first joins RMQ_CLUSTER_SEED at boot.
RMQ_EPMD_SHARED='' RMQ_CLUSTER_SEED=${RMQ_CLUSTER_SEED:-}

_rmq_log() { echo "${RMQ_LOG_PREFIX:-rabbitmq-node}: $*" >&2; }

# A port counts as free when nothing listens on it on any address (the
# distribution listener would otherwise collide with a wildcard bind).
_rmq_port_free() {
  if command -v ss >/dev/null 2>&1; then
    [ -z "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] || return 1
  fi
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# First free port at or after $1 (random offsets keep parallel runs apart).
_rmq_free_port() {
  local p=$1 end=$(($1 + 500))
  while [ "$p" -lt "$end" ]; do
    _rmq_port_free "$p" && { echo "$p"; return 0; }
    p=$((p + 1))
  done
  return 1
}

# Command line (in RMQ_ARGV) to run a RabbitMQ tool ($1) against our node. As
# root, it runs as the "rabbitmq" user (like the packaged service) with HOME
# pointing at our dir, so server and CLI share the node's own cookie instead of
# /var/lib/rabbitmq's. Callers run "${RMQ_ARGV[@]}" themselves so that a
# background job's $! is the real process, not a subshell.
_rmq_argv() {
  local tool=$1; shift
  RMQ_ARGV=(env -C "$RMQ_DIR" "${RMQ_ENV[@]}" "$RMQ_BIN/$tool" "$@")
  # setpriv, not runuser: runuser's PAM session (pam_limits) would put the descriptor limit back to the system's.
  if [ "$(id -u)" = 0 ]; then RMQ_ARGV=(setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups -- "${RMQ_ARGV[@]}"); fi
}

# Whether process $1 runs. One that exited but is not reaped yet counts as gone: the run's processes outlive the script
# that started them, and the init that inherits them may leave them as zombies a long while (kill -0 still succeeds).
_rmq_alive() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
  stat=${stat##*) }
  [ "${stat%% *}" != Z ] && [ "${stat%% *}" != X ]
}

_rmq_beam_pid() { [ -s "$RMQ_PIDFILE" ] && tr -dc '0-9' <"$RMQ_PIDFILE"; }

_rmq_show_logs() {
  local f
  for f in "$RMQ_DIR"/log/*.log; do
    [ -s "$f" ] || continue
    _rmq_log "---- tail of $f ----"
    tail -n 30 "$f" >&2
  done
}

rmq_node_start() {
  local -; set +e   # safe to call from `set -e` scripts; options restored on return
  if [ ! -x "$RMQ_BIN/rabbitmq-server" ]; then
    _rmq_log "RabbitMQ is not installed ($RMQ_BIN/rabbitmq-server missing)"
    return 1
  fi
  local timeout=${DECOM_RABBITMQ_START_TIMEOUT:-60} rc
  # Ports are probed before the node binds them, so a parallel run can win the
  # race and our node dies at once (rc 2); then try again with fresh ports.
  for _ in 1 2 3; do
    rc=0
    _rmq_start_once "$timeout" || rc=$?
    [ "$rc" = 0 ] && return 0
    rmq_node_stop
    if [ "$rc" != 2 ] || [ -n "${DECOM_RABBITMQ_PORT:-}" ]; then break; fi
    _rmq_log "retrying with other ports"
  done
  return 1
}

_rmq_start_once() {
  local -; set +e
  local timeout=$1 off=$((RANDOM % 400))
  RMQ_NODE="decomtest-$$-$RANDOM@localhost"
  RMQ_PORT=${DECOM_RABBITMQ_PORT:-$(_rmq_free_port $((5682 + off)))} || return 1
  RMQ_DIST_PORT=$(_rmq_free_port $((25682 + off))) || return 1
  # The nodes of a cluster on one machine find each other through one epmd: they must all use its port.
  if [ -n "${RMQ_CLUSTER_EPMD_PORT:-}" ]; then RMQ_EPMD_PORT=$RMQ_CLUSTER_EPMD_PORT RMQ_EPMD_SHARED=1
  else RMQ_EPMD_PORT=$(_rmq_free_port $((14369 + off))) || return 1; fi
  RMQ_AMQPS_PORT=$(_rmq_free_port $((6682 + off))) || return 1
  RMQ_MQTTS_PORT=$(_rmq_free_port $((8883 + off))) || return 1
  RMQ_MANAGEMENT_PORT=$(_rmq_free_port $((15682 + off))) || return 1
  if ! _rmq_port_free "$RMQ_PORT"; then
    _rmq_log "AMQP port $RMQ_PORT is already in use"
    return 1
  fi

  RMQ_DIR=$(mktemp -d "${RMQ_CLUSTER_DIR:-${TMPDIR:-/tmp}}/decom-rabbitmq.XXXXXX")
  RMQ_PIDFILE=$RMQ_DIR/node.pid
  mkdir -p "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
  : >"$RMQ_DIR/rabbitmq-env.conf"            # ignore /etc/rabbitmq/rabbitmq-env.conf
  # rabbitmq_auth_mechanism_ssl: AMQPS devices log in by certificate (EXTERNAL), as MQTT devices do.
  echo '[rabbitmq_mqtt,rabbitmq_management,rabbitmq_auth_mechanism_ssl].' >"$RMQ_DIR/enabled_plugins"
  # Throwaway node: listener address/port and all paths come from the environment; the broker settings are the
  # product's own (ops/rabbitmq/, also mounted by docker-compose.yml).
  cat "$(dirname "${BASH_SOURCE[0]}")/rabbitmq/10-decommission.conf" >"$RMQ_DIR/rabbitmq.conf"
  _rmq_write_tls_config || return 1
  # The cluster's PKI lies outside the node's directory; the node reads its key as the rabbitmq user.
  if [ "$(id -u)" = 0 ] && [ -n "${RMQ_CLUSTER_PKI_DIR:-}" ]; then chown -R rabbitmq:rabbitmq "$RMQ_PKI_DIR"; fi
  printf '%s\n' 'management.tcp.ip = 127.0.0.1' "management.tcp.port = $RMQ_MANAGEMENT_PORT" \
    'management.disable_stats = true' 'management_agent.disable_metrics_collector = true' >>"$RMQ_DIR/rabbitmq.conf"
  if [ -n "$RMQ_CLUSTER_SEED" ]; then
    # Joins the cluster at boot (and again after a restart): classic peer discovery with the seed as its only peer, retried
    # while the seed is busy. The seed itself has no peer list: it forms the cluster.
    printf '%s\n' 'cluster_formation.peer_discovery_backend = classic_config' \
      "cluster_formation.classic_config.nodes.1 = $RMQ_CLUSTER_SEED" \
      'cluster_formation.discovery_retry_limit = 120' 'cluster_formation.discovery_retry_interval = 500' >>"$RMQ_DIR/rabbitmq.conf"
  fi
  # Erlang refuses cookies readable by others. A cluster's nodes (and their rabbitmqctl) share one: RMQ_CLUSTER_COOKIE.
  (umask 077; if [ -n "${RMQ_CLUSTER_COOKIE:-}" ]; then printf '%s' "$RMQ_CLUSTER_COOKIE"; else od -An -N24 -tx1 /dev/urandom | tr -dc '0-9a-f'; fi \
     >"$RMQ_DIR/.erlang.cookie")
  if [ "$(id -u)" = 0 ]; then chown -R rabbitmq:rabbitmq "$RMQ_DIR"; fi

  local loopback_dist='-kernel inet_dist_use_interface {127,0,0,1}'
  # No scheduler busy-waiting (RabbitMQ's advice where cores are shared): an idle node's schedulers spin for a while before
  # they sleep, which takes CPU from the services and the other nodes on a small machine.
  local no_busy_wait='+sbwt none +sbwtdcpu none +sbwtdio none'
  RMQ_ENV=(
    HOME="$RMQ_DIR"
    RABBITMQ_NODENAME="$RMQ_NODE"
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    RABBITMQ_NODE_PORT="$RMQ_PORT"
    RABBITMQ_DIST_PORT="$RMQ_DIST_PORT"
    ERL_EPMD_ADDRESS=127.0.0.1
    ERL_EPMD_PORT="$RMQ_EPMD_PORT"
    RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"
    RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf"
    RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
    RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
    RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
    RABBITMQ_LOG_BASE="$RMQ_DIR/log"
    RABBITMQ_PID_FILE="$RMQ_PIDFILE"
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$loopback_dist $no_busy_wait"
    RABBITMQ_CTL_ERL_ARGS="$loopback_dist"
  )
  # shellcheck disable=SC2034
  RMQ_URI="amqp://guest:guest@127.0.0.1:$RMQ_PORT/"

  _rmq_log "starting RabbitMQ node $RMQ_NODE on 127.0.0.1:$RMQ_PORT (AMQPS $RMQ_AMQPS_PORT, MQTTS $RMQ_MQTTS_PORT, management $RMQ_MANAGEMENT_PORT, dist $RMQ_DIST_PORT, epmd $RMQ_EPMD_PORT, dir $RMQ_DIR)"
  _rmq_launch "$timeout" || return $?
  # A cluster's definitions are the cluster's: the seed sets them (ops/rabbitmq-cluster.sh), a joining node has them.
  [ -n "$RMQ_CLUSTER_SEED" ] || _rmq_device_sessions_policy single || { _rmq_log "could not set the device session policy"; return 1; }
}

# Starts the node's VM on what RMQ_ENV names (its directory, config, ports) and waits until it is up (rabbitmqctl wait);
# returns 2 when it exited during startup (e.g. a port taken). $1: timeout in seconds.
_rmq_launch() {
  local timeout=$1
  # Own session: terminal signals don't reach the node; we stop it ourselves.
  _rmq_argv rabbitmq-server
  # RabbitMQ hands out file handles (sockets, queue files) from a budget of the process's descriptor limit. A shell's
  # usual 1024 ("Limiting to approx 927 file handles") runs out with a fleet's thousands of durable device queues, and
  # then the broker blocks: new connections hang before the handshake, publishes wait for confirms that never come.
  # Packaged brokers run with 65536 (RabbitMQ's production advice); so does this one, or as many as we may have.
  (ulimit -n "$RMQ_NOFILE" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
   exec setsid -w "${RMQ_ARGV[@]}" >>"$RMQ_DIR/log/startup.log" 2>&1 </dev/null) &
  RMQ_LAUNCHER_PID=$!

  # `rabbitmqctl wait` alone would sit out its whole timeout if the node dies
  # before writing its pid file, so also watch the launcher.
  local started=$SECONDS rc=0
  _rmq_argv rabbitmqctl -n "$RMQ_NODE" wait --timeout "$timeout" "$RMQ_PIDFILE"
  "${RMQ_ARGV[@]}" >"$RMQ_DIR/log/wait.log" 2>&1 </dev/null &
  RMQ_WAITER_PID=$!
  while _rmq_alive "$RMQ_WAITER_PID"; do
    if ! _rmq_alive "$RMQ_LAUNCHER_PID"; then
      kill "$RMQ_WAITER_PID" 2>/dev/null
      break
    fi
    sleep 0.2
  done
  wait "$RMQ_WAITER_PID" || rc=$?
  RMQ_WAITER_PID=
  if [ "$rc" -ne 0 ]; then
    # A failed boot makes `wait` give up while the VM is still shutting down.
    for _ in $(seq 1 50); do _rmq_alive "$RMQ_LAUNCHER_PID" || break; sleep 0.2; done
  fi
  if ! _rmq_alive "$RMQ_LAUNCHER_PID"; then
    _rmq_log "node $RMQ_NODE exited during startup"
    _rmq_show_logs
    return 2
  fi
  if [ "$rc" -ne 0 ]; then
    _rmq_log "node $RMQ_NODE did not come up within ${timeout}s (rabbitmqctl wait exit $rc)"
    _rmq_show_logs
    return 1
  fi
  local beam nofile='?'
  beam=$(_rmq_beam_pid) && nofile=$(awk '/^Max open files/ { print $4 }' "/proc/$beam/limits" 2>/dev/null)
  _rmq_log "node $RMQ_NODE is up after $((SECONDS - started))s ($nofile file descriptors)"
}

# The node's listeners on 127.0.0.1 (AMQP, AMQPS, MQTTS, management): those it has recorded in its state.
_rmq_listener_ports() {
  local port
  for port in "$RMQ_PORT" "$RMQ_AMQPS_PORT" "$RMQ_MQTTS_PORT" "$RMQ_MANAGEMENT_PORT"; do
    [ -n "$port" ] && echo "$port"
  done
}

# Waits until every listener accepts connections (plugins' listeners open after `rabbitmqctl wait` returns). $1: timeout.
_rmq_wait_listeners() {
  local port deadline=$((SECONDS + $1))
  for port in $(_rmq_listener_ports); do
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        _rmq_log "node $RMQ_NODE is up but nothing listens on 127.0.0.1:$port"
        return 1
      fi
      sleep 0.2
    done
  done
}

# Stops the node's processes (rabbitmqctl stop, which waits for the VM to exit; TERM and KILL of our own processes only
# if it does not) and says how: RMQ_STOPPED=clean (it stopped on rabbitmqctl stop), killed, or '' (it was not running).
_rmq_halt() {
  local -; set +e
  RMQ_STOPPED=''
  if _rmq_alive "$RMQ_WAITER_PID"; then kill "$RMQ_WAITER_PID" 2>/dev/null; wait "$RMQ_WAITER_PID" 2>/dev/null; fi
  local beam t0=$SECONDS rc=0
  beam=$(_rmq_beam_pid)
  _rmq_alive "$beam" || _rmq_alive "$RMQ_LAUNCHER_PID" || return 0
  _rmq_log "stopping RabbitMQ node $RMQ_NODE"
  # Graceful stop; waits until the node's OS process has exited.
  _rmq_argv rabbitmqctl -n "$RMQ_NODE" stop --timeout 30 "$RMQ_PIDFILE"
  "${RMQ_ARGV[@]}" >/dev/null 2>&1 </dev/null &
  local stopper=$!
  for _ in $(seq 1 150); do _rmq_alive "$stopper" || break; sleep 0.2; done
  kill "$stopper" 2>/dev/null
  wait "$stopper" 2>/dev/null || rc=$?
  # The launcher (rabbitmq-server's script) exits right after its VM.
  for _ in $(seq 1 25); do _rmq_alive "$beam" || _rmq_alive "$RMQ_LAUNCHER_PID" || break; sleep 0.2; done
  if ! _rmq_alive "$beam" && ! _rmq_alive "$RMQ_LAUNCHER_PID"; then
    RMQ_STOPPED=clean
    _rmq_log "node $RMQ_NODE stopped cleanly (rabbitmqctl stop, $((SECONDS - t0))s)"
    return 0
  fi
  # Fallback: kill only our own processes — the node's launcher session and its beam.
  _rmq_log "WARNING: node $RMQ_NODE did not stop on rabbitmqctl stop (exit $rc) within $((SECONDS - t0))s: killing it"
  _rmq_kill_node TERM "$beam"
  for _ in $(seq 1 50); do
    _rmq_alive "$beam" || _rmq_alive "$RMQ_LAUNCHER_PID" || break
    sleep 0.2
  done
  _rmq_kill_node KILL "$beam"
  RMQ_STOPPED=killed
  _rmq_log "node $RMQ_NODE killed ($((SECONDS - t0))s)"
}

# Stops the node and starts it again on its own directory: the same name, ports, cookie, config and TLS material, the
# same data (durable queues, persistent messages, users, permissions, policies). Needs the node's state (rmq_node_state)
# loaded. Returns when the node is up and every listener accepts connections.
rmq_node_restart() {
  local -; set +e
  local timeout=${DECOM_RABBITMQ_START_TIMEOUT:-60} port
  if [ -z "$RMQ_DIR" ] || [ ! -d "$RMQ_DIR/mnesia" ]; then _rmq_log "no node to restart (RMQ_DIR '$RMQ_DIR')"; return 1; fi
  _rmq_halt
  # A pid file left by a killed VM would make `rabbitmqctl wait` watch a dead process.
  rm -f "$RMQ_PIDFILE"
  for port in $(_rmq_listener_ports) "$RMQ_DIST_PORT"; do
    _rmq_port_free "$port" || { _rmq_log "cannot restart node $RMQ_NODE: port $port was taken while it was down"; return 1; }
  done
  _rmq_log "starting RabbitMQ node $RMQ_NODE again on its own data (dir $RMQ_DIR)"
  _rmq_launch "$timeout" || return 1
  _rmq_wait_listeners "$timeout" || return 1
  _rmq_log "node $RMQ_NODE listens on 127.0.0.1:$(_rmq_listener_ports | paste -sd, -)"
}

# The node's state as shell assignments, for a later script to act on the same node (source it, then rmq_ctl,
# rmq_node_restart, rmq_node_stop).
rmq_node_state() {
  declare -p RMQ_NODE RMQ_PORT RMQ_DIR RMQ_PIDFILE RMQ_DIST_PORT RMQ_EPMD_PORT RMQ_ENV RMQ_LAUNCHER_PID RMQ_AMQPS_PORT \
    RMQ_MQTTS_PORT RMQ_MANAGEMENT_PORT RMQ_PKI_DIR RMQ_MQTT_VHOST RMQ_EPMD_SHARED RMQ_CLUSTER_SEED
}

# The devices' virtual host and the policy on their MQTT session queues (the same as contracts/Decommission.Topology's
# definitions): one command waiting per device (max-length 1, drop-head: a re-sent copy replaces the older), and a
# session unused for 30 days goes. A policy, not queue arguments: the MQTT plugin declares the queue without any, and
# the gateway, which makes it before the device first connects, must declare it the same.
# $1: single, or mirrored (a cluster): then the sessions are also mirrored on every node (classic mirroring, the only replication RabbitMQ
# 3.10 offers the classic queues its MQTT plugin declares): a device's session and the command waiting in it outlive the node
# that held them. One policy applies to a queue, so the keys go together.
_rmq_device_sessions_policy() {
  local mirrored=''
  [ "${1:-}" != mirrored ] || mirrored=', "ha-mode": "all", "ha-sync-mode": "automatic"'
  rmq_ctl import_definitions >/dev/null <<EOF
{ "vhosts": [{ "name": "$RMQ_MQTT_VHOST" }],
  "policies": [{ "vhost": "$RMQ_MQTT_VHOST", "name": "decommission-device-sessions", "pattern": "^mqtt-subscription-.*qos1\$",
                 "apply-to": "queues", "priority": 0,
                 "definition": { "max-length": 1, "overflow": "drop-head", "expires": 2592000000$mirrored } }] }
EOF
}

# The broker's TLS material and its TLS listeners (docs/deployment.md, "The broker's TLS"). The TLS options live in
# advanced.config: there they replace rabbitmq.conf's ssl_options.* altogether, and crl_cache has no rabbitmq.conf key.
# The MQTT listener takes rabbitmq_mqtt's tcp_listen_options ++ rabbit's ssl_options: a client certificate is required
# on MQTT only (AMQPS clients may log in with a password). The CRL check sits in the shared options, or a revoked
# device would still log in over AMQPS.
_rmq_write_tls_config() {
  local pki_sh; pki_sh="$(dirname "${BASH_SOURCE[0]}")/pki.sh"
  if [ -n "${RMQ_CLUSTER_PKI_DIR:-}" ]; then
    # A cluster's nodes present one server certificate and trust the same clients: the cluster's PKI, made once.
    RMQ_PKI_DIR=$RMQ_CLUSTER_PKI_DIR
  else
    RMQ_PKI_DIR=$RMQ_DIR/pki
  fi
  if [ ! -s "$RMQ_PKI_DIR/server.crt" ]; then
    "$pki_sh" server "$RMQ_PKI_DIR" || return 1
    if [ -n "$RMQ_TEST_FLEET_CA" ]; then "$pki_sh" ca "$RMQ_PKI_DIR" "$RMQ_TEST_FLEET_CA" || return 1; fi
  fi
  cat >>"$RMQ_DIR/rabbitmq.conf" <<EOF
listeners.ssl.default = 127.0.0.1:$RMQ_AMQPS_PORT
ssl_cert_login_from = common_name
# Services log in with passwords (PLAIN), devices over AMQPS by their client certificate (EXTERNAL).
auth_mechanisms.1 = PLAIN
auth_mechanisms.2 = EXTERNAL
mqtt.listeners.tcp = none
mqtt.listeners.ssl.default = 127.0.0.1:$RMQ_MQTTS_PORT
# The plugin's default is true, with guest/guest.
mqtt.allow_anonymous = false
mqtt.ssl_cert_login = true
mqtt.vhost = $RMQ_MQTT_VHOST
mqtt.exchange = amq.topic
# Changing it later breaks every existing session (inequivalent x-expires): sessions expire by policy instead.
mqtt.subscription_ttl = infinity
EOF
  cat >"$RMQ_DIR/advanced.config" <<EOF
[{rabbit, [{ssl_options, [{cacertfile, "$RMQ_PKI_DIR/client-cas.pem"},
                          {certfile, "$RMQ_PKI_DIR/server.crt"}, {keyfile, "$RMQ_PKI_DIR/server.key"},
                          {verify, verify_peer}, {versions, ['tlsv1.3', 'tlsv1.2']},
                          {crl_check, peer},
                          {crl_cache, {ssl_crl_hash_dir, {internal, [{dir, "$RMQ_PKI_DIR/crl"}]}}}]}]},
 {rabbitmq_mqtt, [{tcp_listen_options, [{backlog, 128}, {nodelay, true}, {fail_if_no_peer_cert, true}]}]}].
EOF
}

# $1 signal, $2 beam pid: the launcher's whole session, and the VM in case it left it.
_rmq_kill_node() {
  [ -n "$RMQ_LAUNCHER_PID" ] && kill -"$1" -- "-$RMQ_LAUNCHER_PID" 2>/dev/null
  _rmq_alive "$2" && kill -"$1" "$2" 2>/dev/null
  return 0
}

# Runs rabbitmqctl against our node, e.g. rmq_ctl add_vhost tests.
rmq_ctl() {
  _rmq_argv rabbitmqctl -n "$RMQ_NODE" "$@"
  "${RMQ_ARGV[@]}"
}

rmq_node_stop() {
  local -; set +e
  [ -n "$RMQ_DIR" ] || return 0
  local t0=$SECONDS
  _rmq_halt
  [ -n "$RMQ_LAUNCHER_PID" ] && wait "$RMQ_LAUNCHER_PID" 2>/dev/null
  # The node started a private epmd on its own port; no other node uses it (a cluster's is stopped with the cluster).
  if [ -z "$RMQ_EPMD_SHARED" ] && [ -n "$RMQ_EPMD_PORT" ] && ! _rmq_port_free "$RMQ_EPMD_PORT"; then
    ERL_EPMD_PORT=$RMQ_EPMD_PORT epmd -kill >/dev/null 2>&1 || true
  fi
  rm -rf "$RMQ_DIR"
  [ -n "$RMQ_STOPPED" ] || _rmq_log "node $RMQ_NODE was not running"
  _rmq_log "node $RMQ_NODE removed ($((SECONDS - t0))s)"
  RMQ_DIR='' RMQ_LAUNCHER_PID=''
}
