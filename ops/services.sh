# shellcheck shell=bash
# What the distributed run is made of, shared by ops/up.sh, ops/restart.sh, ops/status.sh and ops/down.sh.
#
#   DECOM_RUN_DIR        where each process gets its directory (data/, service.log, pid, service.env); default .run
#   DECOM_CONFIGURATION  which build to run (Release by default)

RUN=${DECOM_RUN_DIR:-$PWD/.run}
CONFIGURATION=${DECOM_CONFIGURATION:-Release}

# name → project directory; the assembly is the directory's last part. The device agent (simulated fleet) runs only
# when ops/up.sh is given --fleet.
SERVICES=(orchestrator inventory credentials device-gateway certificates)
declare -A PROJECT=(
  [orchestrator]=services/Orchestrator/Decommission.Orchestrator.Service
  [inventory]=services/Inventory/Decommission.Inventory.Service
  [credentials]=services/Credentials/Decommission.Credentials.Service
  [device-gateway]=services/DeviceGateway/Decommission.DeviceGateway.Service
  [certificates]=services/Certificates/Decommission.Certificates.Service
  [device-agent]=services/Decommission.DeviceAgent
)

svc_dll() { echo "$PWD/${PROJECT[$1]}/bin/$CONFIGURATION/net10.0/$(basename "${PROJECT[$1]}").dll"; }

svc_pid() { [ -s "$RUN/$1/pid" ] && cat "$RUN/$1/pid"; }

svc_alive() { local pid; pid=$(svc_pid "$1") && kill -0 "$pid" 2>/dev/null; }

# Starts service $1 with the settings in $RUN/$1/service.env (owner-only; secrets live there and in the process's
# environment, never on a command line or in a log). The process records its own pid and then becomes the service
# (exec), so ops/down.sh and ops/restart.sh act on exactly it.
svc_launch() {
  local name=$1 dll
  dll=$(svc_dll "$name")
  [ -f "$dll" ] || { echo "$dll is not built (dotnet build -c $CONFIGURATION)" >&2; return 1; }
  rm -f "$RUN/$name/pid"
  # The whole subshell's output goes to the log: nothing keeps the caller's stdout (a pipe) open.
  ( cd "$RUN/$name" && umask 077 && set -a && . ./service.env && set +a && \
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
