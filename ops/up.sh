#!/usr/bin/env bash
# The distributed run: a loopback RabbitMQ node and every service as its own process, each with its own RabbitMQ user,
# data directory and log under .run/. Stop it all with ops/down.sh.
#
#   ops/up.sh            build (Release) and start; prints where everything is
#
# Env: DECOM_RABBITMQ_PORT (AMQP port, default a free one near 5682), DECOM_HTTP_BASE (first HTTP port, default 5081).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUN=$PWD/.run
RMQ_LOG_PREFIX=ops/up.sh
log() { echo "ops/up.sh: $*" >&2; }

if [ -s "$RUN/rabbitmq.state" ]; then
  log "already up (.run/rabbitmq.state exists); run ops/down.sh first"
  exit 1
fi
command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/sbin/rabbitmq-server ] || {
  log "rabbitmq-server is not installed: run ops/test.sh once, or apt-get install rabbitmq-server"; exit 1; }

log "building (Release)"
dotnet build Decommission.sln -c Release -v q -nologo >/dev/null

# shellcheck source=ops/rabbitmq-node.sh
. ops/rabbitmq-node.sh
mkdir -p "$RUN"
rmq_node_start
declare -p RMQ_NODE RMQ_PORT RMQ_DIR RMQ_PIDFILE RMQ_DIST_PORT RMQ_EPMD_PORT RMQ_ENV RMQ_LAUNCHER_PID >"$RUN/rabbitmq.state"

# Each service's user may touch the message-type exchanges, its own queues, the queues it sends to, and its bus endpoint.
# shellcheck source=ops/rabbitmq-users.sh
. ops/rabbitmq-users.sh
declare -A PASSWORD
for user in "${!RABBITMQ_PERMISSIONS[@]}"; do
  PASSWORD[$user]=$(od -An -N18 -tx1 /dev/urandom | tr -dc '0-9a-f')
  rmq_ctl add_user "$user" "${PASSWORD[$user]}" >/dev/null
  rmq_ctl set_permissions -p / "$user" "${RABBITMQ_PERMISSIONS[$user]}" "${RABBITMQ_PERMISSIONS[$user]}" "${RABBITMQ_PERMISSIONS[$user]}" >/dev/null
done
rmq_ctl delete_user guest >/dev/null
uri() { echo "amqp://$1:${PASSWORD[$1]}@127.0.0.1:$RMQ_PORT/"; }

port=${DECOM_HTTP_BASE:-5081}
start() { # name project-dir assembly env...
  local name=$1 dir=$2 assembly=$3; shift 3
  mkdir -p "$RUN/$name/data"
  # Secrets go through the environment of the process only, never onto its command line or into a log.
  # The process records its own pid and then becomes the service (exec), so down.sh stops exactly it.
  ( cd "$RUN/$name" && umask 077 && env "$@" ASPNETCORE_URLS="http://127.0.0.1:$port" Bus__Transport=RabbitMq \
      setsid bash -c 'echo $$ > pid; exec dotnet "$0"' "$PWD/../../$dir/bin/Release/net10.0/$assembly.dll" \
      >"$RUN/$name/service.log" 2>&1 </dev/null & )
  for _ in $(seq 1 50); do [ -s "$RUN/$name/pid" ] && break; sleep 0.1; done
  log "$name: pid $(cat "$RUN/$name/pid"), http://127.0.0.1:$port, log .run/$name/service.log"
  port=$((port + 1))
}

start orchestrator services/Orchestrator/Decommission.Orchestrator.Service Decommission.Orchestrator.Service \
  Bus__RabbitMqUri="$(uri orchestrator)" Orchestrator__DatabasePath="$RUN/orchestrator/data/orchestrator.db"
start inventory services/Inventory/Decommission.Inventory.Service Decommission.Inventory.Service \
  Bus__RabbitMqUri="$(uri inventory)" Inventory__DatabasePath="$RUN/inventory/data/inventory.db"
start credentials services/Credentials/Decommission.Credentials.Service Decommission.Credentials.Service \
  Bus__RabbitMqUri="$(uri credentials)" Credentials__DatabasePath="$RUN/credentials/data/credentials.db" Credentials__DataDirectory="$RUN/credentials/data"
start device-gateway services/DeviceGateway/Decommission.DeviceGateway.Service Decommission.DeviceGateway.Service \
  Bus__RabbitMqUri="$(uri device-gateway)" DeviceGateway__DeviceBrokerUri="$(uri device-gateway)" \
  DeviceGateway__DatabasePath="$RUN/device-gateway/data/device-gateway.db" DeviceGateway__SigningKeyPath="$RUN/device-gateway/data/command-signing.key.pem"
start certificates services/Certificates/Decommission.Certificates.Service Decommission.Certificates.Service \
  Bus__RabbitMqUri="$(uri certificates)" Certificates__DatabasePath="$RUN/certificates/data/certificates.db" Certificates__DataDirectory="$RUN/certificates/data"

for name in orchestrator inventory credentials device-gateway certificates; do
  for _ in $(seq 1 120); do
    grep -q "Application started" "$RUN/$name/service.log" 2>/dev/null && break
    kill -0 "$(cat "$RUN/$name/pid")" 2>/dev/null || { log "$name died:"; tail -n 20 "$RUN/$name/service.log" >&2; exit 1; }
    sleep 0.5
  done
done

# What an operator and the fleet need, owner-only.
(umask 077
 {
   echo "DECOM_BROKER=$(uri operator)"
   echo "DECOM_API=http://127.0.0.1:$((port - 1))"
   echo "DECOM_DEVICE_BROKER=$(uri device-agent)"
   echo "DECOM_GATEWAY_PUBLIC_KEY=$RUN/device-gateway/data/command-signing.pub.pem"
 } >"$RUN/operator.env")
log "RabbitMQ: 127.0.0.1:$RMQ_PORT (node $RMQ_NODE); operator settings in .run/operator.env (source it for decom)"
log "up. Stop with ops/down.sh"
