# shellcheck shell=bash
# What the distributed run is made of, shared by ops/up.sh, ops/restart.sh, ops/status.sh and ops/down.sh.
#
#   DECOM_RUN_DIR        where each process gets its directory (data/, service.log, pid, service.env); default .run
#   DECOM_CONFIGURATION  which build to run (Release by default)

# shellcheck source=ops/rabbitmq-node.sh
. "$(dirname "${BASH_SOURCE[0]}")/rabbitmq-node.sh"

RUN=${DECOM_RUN_DIR:-$PWD/.run}
CONFIGURATION=${DECOM_CONFIGURATION:-Release}

# name → project directory; the assembly is the directory's last part. The device agent (simulated fleet) runs only
# when ops/up.sh is given --fleet.
# shellcheck disable=SC2034  # read by the scripts that source this file
SERVICES=(orchestrator inventory credentials device-gateway certificates)
declare -A PROJECT=(
  [orchestrator]=services/Orchestrator/Decommission.Orchestrator.Service
  [inventory]=services/Inventory/Decommission.Inventory.Service
  [credentials]=services/Credentials/Decommission.Credentials.Service
  [device-gateway]=services/DeviceGateway/Decommission.DeviceGateway.Service
  [certificates]=services/Certificates/Decommission.Certificates.Service
  [device-agent]=services/Decommission.DeviceAgent
)

# A process of the run is a service (orchestrator) or a replica of one (orchestrator-2: ops/up.sh --replicas).
svc_service() { echo "${1%-[0-9]*}"; }

svc_dll() { local project=${PROJECT[$(svc_service "$1")]}; echo "$PWD/$project/bin/$CONFIGURATION/net10.0/$(basename "$project").dll"; }

# The run's processes: what ops/up.sh recorded in $RUN/instances (replicas included), else one of each service.
run_instances() {
  if [ -s "$RUN/instances" ]; then cat "$RUN/instances"; else printf '%s\n' "${SERVICES[@]}"; fi
}

# The run's broker nodes as names for ops/restart.sh: rabbitmq (a single node), or rabbitmq-1 … rabbitmq-N (a cluster).
run_broker_nodes() {
  local state
  [ ! -s "$RUN/rabbitmq.state" ] || echo rabbitmq
  for state in "$RUN"/rabbitmq-[0-9]*.state; do [ -s "$state" ] && basename "$state" .state; done
  return 0
}

svc_pid() { [ -s "$RUN/$1/pid" ] && cat "$RUN/$1/pid"; }

svc_alive() { local pid; pid=$(svc_pid "$1") && _rmq_alive "$pid"; }

# Whether environment variable $1 is one of the services' settings: configuration (Section__Key), the hosts' environment
# name, OpenTelemetry's exporter settings.
_svc_is_setting() {
  [[ $1 =~ ^[A-Za-z][A-Za-z0-9_]*__[A-Za-z0-9] || $1 =~ ^(DOTNET_ENVIRONMENT|ASPNETCORE_ENVIRONMENT|OTEL_[A-Z0-9_]+)$ ]]
}

# The settings in this shell's environment, one NAME=value a line (shell-quoted), sorted.
_svc_settings_here() {
  local name
  while IFS= read -r name; do
    if _svc_is_setting "$name"; then printf '%s=%q\n' "$name" "${!name}"; fi
  done < <(compgen -e | LC_ALL=C sort)
}

# Removes the settings from this shell's environment (a service gets the run's, not its caller's).
_svc_unset_settings() {
  local name
  while IFS= read -r name; do
    if _svc_is_setting "$name"; then unset "$name"; fi
  done < <(compgen -e)
}

# Records the settings ops/up.sh was given (its environment's) as the run's: every service, started or restarted, gets
# exactly these (svc_launch). Owner-only: settings can hold secrets.
run_settings_save() {
  (umask 077
   { echo "# settings of the run (ops/up.sh's environment); ops/restart.sh starts services with them. Keep owner-only."
     _svc_settings_here; } >"$RUN/settings.env")
}

# Names of the settings in this shell's environment that the run was not started with (or with another value): a
# restarted service does not take them.
run_settings_ignored() {
  LC_ALL=C comm -23 <(_svc_settings_here) <(grep -v '^#' "$RUN/settings.env" 2>/dev/null | LC_ALL=C sort) | cut -d= -f1
}

# Starts service $1 with the run's settings ($RUN/settings.env) and its own ($RUN/$1/service.env), both owner-only
# (secrets live there and in the process's environment, never on a command line or in a log); settings in the caller's
# environment do not reach it, so a restarted service runs exactly as it was started. The process records its own pid
# and then becomes the service (exec), so ops/down.sh and ops/restart.sh act on exactly it.
svc_launch() {
  local name=$1 dll
  dll=$(svc_dll "$name")
  [ -f "$dll" ] || { echo "$dll is not built (dotnet build -c $CONFIGURATION)" >&2; return 1; }
  rm -f "$RUN/$name/pid"
  # The whole subshell's output goes to the log: nothing keeps the caller's stdout (a pipe) open.
  # shellcheck source=/dev/null disable=SC2016  # the settings files are the run's; $$ and $0 are the inner shell's
  ( set -e; cd "$RUN/$name"; umask 077; set -a
    # (A run started before ops/up.sh kept its settings has none recorded: its services keep the caller's.)
    if [ -f "$RUN/settings.env" ]; then _svc_unset_settings; . "$RUN/settings.env"; fi
    . ./service.env; set +a
    exec setsid bash -c 'echo $$ > pid; exec dotnet "$0"' "$dll" ) >>"$RUN/$name/service.log" 2>&1 </dev/null &
  for _ in $(seq 1 50); do [ -s "$RUN/$name/pid" ] && return 0; sleep 0.1; done
  echo "$name did not start" >&2
  return 1
}

# Waits until service $1 has logged that it started (after offset $2 of its log), or fails when it dies.
svc_wait_started() {
  local name=$1 from=${2:-0}
  for _ in $(seq 1 240); do
    tail -c +"$((from + 1))" "$RUN/$name/service.log" 2>/dev/null | grep -q "Application started\|Device fleet started" && return 0
    svc_alive "$name" || { echo "$name died:" >&2; tail -n 20 "$RUN/$name/service.log" >&2; return 1; }
    sleep 0.25
  done
  echo "$name did not report started within 60 s" >&2
  return 1
}

svc_log_size() { stat -c %s "$RUN/$1/service.log" 2>/dev/null || echo 0; }

# Stops process $1 of the run (a directory of $RUN with a pid file): TERM, then KILL if it has not exited after
# $SVC_STOP_GRACE seconds. Says which on stdout; returns 1 when it took KILL.
SVC_STOP_GRACE=${DECOM_STOP_GRACE:-30}
svc_stop() {
  local name=$1 pid t0=$SECONDS
  pid=$(svc_pid "$name") || return 0
  if ! _rmq_alive "$pid"; then
    echo "$name: was not running (pid $pid)"
    rm -f "$RUN/$name/pid"
    return 0
  fi
  kill -TERM "$pid"
  while _rmq_alive "$pid" && [ $((SECONDS - t0)) -lt "$SVC_STOP_GRACE" ]; do sleep 0.2; done
  rm -f "$RUN/$name/pid"
  if ! _rmq_alive "$pid"; then
    echo "$name: stopped cleanly on TERM (pid $pid, $((SECONDS - t0)) s)"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null
  echo "$name: WARNING: still running ${SVC_STOP_GRACE} s after TERM: killed (KILL, pid $pid)"
  return 1
}
