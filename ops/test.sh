#!/usr/bin/env bash
# Runs the test suite against a throwaway RabbitMQ node (see ops/rabbitmq-node.sh).
#
#   ops/test.sh [dotnet test args...]      e.g. ops/test.sh --filter Name~Queue
#   ops/test.sh tests/Some.Tests [args...]  a single test project instead of the solution
#
# Installs missing Debian packages first (fresh CI machines have none of them).
# Env:
#   DECOM_TEST_RABBITMQ_URI  exported to the tests (amqp://guest:guest@127.0.0.1:PORT/);
#                            if already set, no node is started and that broker is used
#   DECOM_TEST_RABBITMQ_STATE exported to the tests: the started node's state, for rabbitmqctl (see ops/broker-users.sh)
#   DECOM_TEST_AMQPS_PORT    exported to the tests: the node's AMQP-over-TLS port (127.0.0.1)
#   DECOM_TEST_MQTTS_PORT    exported to the tests: the node's MQTT-over-TLS port (127.0.0.1; devices, virtual host iot)
#   DECOM_TEST_MANAGEMENT_PORT exported to the tests: the node's management HTTP API port (127.0.0.1; guest/guest)
#   DECOM_TEST_PKI_DIR       exported to the tests: the node's TLS material (ops/pki.sh): ca.crt (trust it to reach the
#                            node), fleet.crt/fleet.key (the test fleet CA: issue device certificates with it), crl/
#   DECOM_TEST_POSTGRES      exported to the tests: an Npgsql connection string to a throwaway PostgreSQL (ops/postgres.sh;
#                            a role that owns its database and may create others); if already set, no server is started
#   DECOM_RABBITMQ_PORT      fixed AMQP port for the node (default: a free one near 5682)
#   DECOM_TEST_PARALLEL      how many test assemblies run at once (default 3; see ops/test-assemblies.sh)
#   DECOM_TEST_COMMAND       shell command run instead of ops/test-assemblies.sh
#                            (gets this script's args as "$@")
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck disable=SC2034  # used by rabbitmq-node.sh
RMQ_LOG_PREFIX=ops/test.sh
log() { echo "ops/test.sh: $*" >&2; }

# --- Debian packages the tests need -------------------------------------------

# "command package" pairs; a package is installed when its command is missing.
REQUIRED=(
  "rabbitmq-server rabbitmq-server"
  "openssl openssl"
  "pdfsig poppler-utils"
  "chromium chromium"
  "mosquitto_pub mosquitto-clients"
  "initdb postgresql"
)

MISSING_PKGS=()
need_pkg() {
  local cmd=$1 pkg=$2
  if command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ]; then return 0; fi
  # Debian keeps PostgreSQL's server tools out of PATH.
  if compgen -G "/usr/lib/postgresql/*/bin/$cmd" >/dev/null; then return 0; fi
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then return 0; fi
  MISSING_PKGS+=("$pkg")
}

POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_BACKUP=
restore_policy_rc() {
  [ -n "$POLICY_RC_BACKUP" ] || return 0
  if [ "$POLICY_RC_BACKUP" = none ]; then rm -f "$POLICY_RC"; else mv -f "$POLICY_RC_BACKUP" "$POLICY_RC"; fi
  POLICY_RC_BACKUP=
}

install_missing() {
  [ "${#MISSING_PKGS[@]}" -gt 0 ] || return 0
  log "installing Debian packages: ${MISSING_PKGS[*]}"
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo -n)
  # Keep package scripts from starting system services (e.g. a system-wide
  # rabbitmq on 5672): tests only ever use their own throwaway node.
  if [ -e "$POLICY_RC" ]; then
    POLICY_RC_BACKUP=$(mktemp) && "${sudo[@]}" cp -p "$POLICY_RC" "$POLICY_RC_BACKUP"
  else
    POLICY_RC_BACKUP=none
  fi
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$POLICY_RC" >/dev/null
  "${sudo[@]}" chmod 755 "$POLICY_RC"
  local t0=$SECONDS apt_log apt_opts=(-q -y -o DPkg::Lock::Timeout=600)
  apt_log=$(mktemp)
  if ! { "${sudo[@]}" apt-get "${apt_opts[@]}" update &&
         "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install \
           --no-install-recommends "${MISSING_PKGS[@]}"; } >"$apt_log" 2>&1; then
    tail -n 30 "$apt_log" >&2
    rm -f "$apt_log"
    log "package installation failed"
    return 1
  fi
  rm -f "$apt_log"
  restore_policy_rc
  log "installed in $((SECONDS - t0))s"
}

# --- cleanup --------------------------------------------------------------------

# shellcheck source=ops/rabbitmq-node.sh
. ops/rabbitmq-node.sh
# shellcheck source=ops/postgres.sh
. ops/postgres.sh
PG_LOG_PREFIX=ops/test.sh

TEST_PID=
BUILD_PID=
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  set +e
  if [ -n "$BUILD_PID" ] && kill -0 "$BUILD_PID" 2>/dev/null; then
    log "stopping the build"
    kill -TERM -- "-$BUILD_PID" 2>/dev/null
    wait "$BUILD_PID" 2>/dev/null
  fi
  if [ -n "$TEST_PID" ] && kill -0 "$TEST_PID" 2>/dev/null; then
    log "stopping the tests"
    kill -TERM -- "-$TEST_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$TEST_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$TEST_PID" 2>/dev/null
    wait "$TEST_PID" 2>/dev/null
  fi
  restore_policy_rc
  rmq_node_stop
  pg_server_stop
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- main -------------------------------------------------------------------------

for req in "${REQUIRED[@]}"; do
  # shellcheck disable=SC2086
  need_pkg $req
done
install_missing

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# A dozen .NET processes share two cores here (test hosts, every service of a distributed run, decom, the device agent):
# workstation GC (ASP.NET Core hosts default to server GC, a heap and GC thread per core in each process) and no PGO
# instrumentation, for the tests' processes only — deployments keep the runtime's defaults.
export DOTNET_gcServer=${DOTNET_gcServer:-0} DOTNET_TieredPGO=${DOTNET_TieredPGO:-0}
# Leave no MSBuild worker nodes or build server running after the tests.
export MSBUILDDISABLENODEREUSE=${MSBUILDDISABLENODEREUSE:-1}
export DOTNET_CLI_USE_MSBUILD_SERVER=${DOTNET_CLI_USE_MSBUILD_SERVER:-0}
# The whole suite: the build needs neither server, so it runs while they start (its own process group, its output shown
# when it ends); ops/test-assemblies.sh then only runs the tests.
BUILD_LOG=
if [ -z "${DECOM_TEST_COMMAND:-}" ] && { [ $# -eq 0 ] || [[ $1 == -* ]]; }; then
  BUILD_LOG=$(mktemp)
  DECOM_TEST_BUILD=only setsid bash ops/test-assemblies.sh "$@" >"$BUILD_LOG" 2>&1 &
  BUILD_PID=$!
fi

if [ -n "${DECOM_TEST_RABBITMQ_URI:-}" ]; then
  log "using existing broker from DECOM_TEST_RABBITMQ_URI"
else
  # A test fleet CA beside the broker's own: tests issue device identity certificates with it.
  RMQ_TEST_FLEET_CA=fleet
  rmq_node_start || { log "could not start RabbitMQ"; exit 1; }
  export DECOM_TEST_RABBITMQ_URI=$RMQ_URI DECOM_TEST_AMQPS_PORT=$RMQ_AMQPS_PORT DECOM_TEST_MQTTS_PORT=$RMQ_MQTTS_PORT
  export DECOM_TEST_PKI_DIR=$RMQ_PKI_DIR DECOM_TEST_MANAGEMENT_PORT=$RMQ_MANAGEMENT_PORT
  # For tests that manage the node's users as ops/up.sh does (rmq_ctl after sourcing ops/rabbitmq-node.sh and this file).
  export DECOM_TEST_RABBITMQ_STATE=$RMQ_DIR/node.state
  rmq_node_state >"$DECOM_TEST_RABBITMQ_STATE"
  # Test assemblies run in parallel: each gets its own virtual host, named after it, so their queues never meet; the
  # devices' virtual host too, where guest plays the services. One import (each rabbitmqctl call costs a second or more).
  vhosts=("$RMQ_MQTT_VHOST")
  for project in tests/*.Tests; do vhosts+=("$(basename "$project")"); done
  {
    printf '{ "vhosts": ['; sep=''
    for vhost in "${vhosts[@]}"; do printf '%s{ "name": "%s" }' "$sep" "$vhost"; sep=', '; done
    printf '],\n  "permissions": ['; sep=''
    for vhost in "${vhosts[@]}"; do
      printf '%s{ "user": "guest", "vhost": "%s", "configure": ".*", "write": ".*", "read": ".*" }' "$sep" "$vhost"; sep=', '
    done
    printf '] }\n'
  } | rmq_ctl import_definitions >/dev/null || { log "could not create the virtual hosts ${vhosts[*]}"; exit 1; }
fi

if [ -n "${DECOM_TEST_POSTGRES:-}" ]; then
  log "using existing PostgreSQL from DECOM_TEST_POSTGRES"
else
  pg_server_start || { log "could not start PostgreSQL"; exit 1; }
  # The application role's connection (it may create databases): store tests make a schema or database of their own.
  export DECOM_TEST_POSTGRES=$PG_CONNECTION
fi

if [ -n "$BUILD_PID" ]; then
  build_rc=0
  wait "$BUILD_PID" || build_rc=$?
  BUILD_PID=
  cat "$BUILD_LOG" >&2
  rm -f "$BUILD_LOG"
  [ "$build_rc" = 0 ] || { log "the build failed (exit $build_rc)"; exit "$build_rc"; }
  export DECOM_TEST_BUILD=done
fi
if [ -n "${DECOM_TEST_COMMAND:-}" ]; then
  cmd=(bash -c "$DECOM_TEST_COMMAND" ops/test.sh "$@")
else
  # Unless the first argument names what to test (e.g. a test project's directory): build the solution once, then run
  # the test assemblies DECOM_TEST_PARALLEL at a time, the longest first. Most of their time is spent waiting (deadlines,
  # brokers, child processes), so more assemblies than cores finish sooner; `dotnet test` on the solution ran about two at
  # a time in solution order, which left the longest (EndToEnd) alone at the end.
  if [ $# -eq 0 ] || [[ $1 == -* ]]; then
    cmd=(bash ops/test-assemblies.sh "$@")
  else
    cmd=(dotnet test "$@")
  fi
fi
log "running: ${cmd[*]}"
tests_started=$SECONDS
# In the background and its own process group, so that a signal to this script
# is handled at once (bash defers traps while a foreground child runs) and the
# whole test process tree can be stopped with it.
export TEST_LOG; TEST_LOG=$(mktemp)
# shellcheck disable=SC2016  # "$@" and $TEST_LOG are the inner shell's
setsid bash -c '"$@" 2>&1 | tee "$TEST_LOG"; exit "${PIPESTATUS[0]}"' ops/test.sh "${cmd[@]}" &
TEST_PID=$!
rc=0
wait "$TEST_PID" || rc=$?
TEST_PID=
# One plain closing line over every test assembly ("Passed!  - Failed: 0, Passed: 25, Skipped: 0, ...").
awk '/(Passed|Failed)! +- +Failed:/ {
       for (i = 1; i <= NF; i++) { v = $(i + 1); gsub(/,/, "", v)
         if ($i == "Failed:") f += v; else if ($i == "Passed:") p += v; else if ($i == "Skipped:") s += v }
       n++ }
     END { if (n) printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$TEST_LOG"
rm -f "$TEST_LOG"
# Where the run's time went (the whole run must stay under 10 minutes on 2 cores): set-up, then build + tests.
if [ -n "$BUILD_LOG" ]; then
  log "tests exited with code $rc after $((SECONDS - tests_started)) s (after $tests_started s of set-up, the build included)"
else
  log "tests exited with code $rc after $((SECONDS - tests_started)) s (build included; $tests_started s of set-up before)"
fi
exit "$rc"
