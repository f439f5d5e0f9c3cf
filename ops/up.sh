#!/usr/bin/env bash
# The distributed run: a loopback RabbitMQ node and every service as its own process, each with its own RabbitMQ user,
# data directory and log under .run/. Stop it all with ops/down.sh; restart a service with ops/restart.sh NAME (the
# broker node, on its own data: ops/restart.sh rabbitmq); see what runs and what waits in the queues with ops/status.sh.
#
#   ops/up.sh                 build (Release) and start the services
#   ops/up.sh --fleet 200     also start a simulated fleet of 200 devices (the device agent) on the device channel (MQTT
#                             over TLS); its enrollment CSV is .run/device-agent/data/attestation-keys.csv, and each
#                             device comes online when `decom devices enroll … --bundles` has written its bundle
#   ops/up.sh --cluster       scale-out on one machine (docs/deployment.md): a cluster of three RabbitMQ nodes (each with
#                             the single node's listeners and TLS, one PKI), quorum queues, a PostgreSQL every service stores
#                             in (Storage__Postgres), and --replicas N (default 2) processes of each service, named NAME-1…NAME-N
#                             (.run/NAME-K/: data, service.log, pid); the fleet's keys made once here and given to every replica
#   ops/up.sh --replicas N    N processes of each service (N > 1 needs a shared store: PostgreSQL is started too)
#
# Env: DECOM_RUN_DIR (default .run), DECOM_CONFIGURATION (default Release), DECOM_UP_BUILD=0 (run what is built),
# DECOM_RABBITMQ_PORT (AMQP port, default a free one near 5682), DECOM_HTTP_BASE (first HTTP port tried, default 5081).
# Any Section__Key variable in the environment reaches the services (e.g. Retirement__EraseDeadline=00:05:00): they are the
# run's settings, kept owner-only in .run/settings.env, and ops/restart.sh starts a service with them again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=ops/services.sh
. ops/services.sh
RMQ_LOG_PREFIX=ops/up.sh
log() { echo "ops/up.sh: $*" >&2; }

fleet=0 cluster=0 replicas=''
while [ $# -gt 0 ]; do
  case $1 in
    --fleet) fleet=${2:?--fleet needs a number of devices}; shift 2 ;;
    --cluster) cluster=1; shift ;;
    --replicas) replicas=${2:?--replicas needs a number}; shift 2 ;;
    *) echo "usage: ops/up.sh [--fleet N] [--cluster] [--replicas N]" >&2; exit 2 ;;
  esac
done
[ -n "$replicas" ] || { if [ "$cluster" = 1 ]; then replicas=2; else replicas=1; fi; }
[[ $replicas =~ ^[1-9][0-9]?$ ]] || { echo "ops/up.sh: --replicas takes 1 to 99" >&2; exit 2; }
# Several processes of a service share their state: only PostgreSQL gives them one store (SQLite is one process's file).
shared_store=0
if [ "$cluster" = 1 ] || [ "$replicas" -gt 1 ]; then shared_store=1; fi

if [ -s "$RUN/rabbitmq.state" ] || [ -s "$RUN/rabbitmq-cluster.state" ]; then
  log "already up ($RUN/rabbitmq.state or rabbitmq-cluster.state exists); run ops/down.sh first"
  exit 1
fi
command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/sbin/rabbitmq-server ] || {
  log "rabbitmq-server is not installed: run ops/test.sh once, or apt-get install rabbitmq-server"; exit 1; }

if [ "${DECOM_UP_BUILD:-1}" != 0 ]; then
  log "building ($CONFIGURATION)"
  dotnet build Decommission.sln -c "$CONFIGURATION" -v q -nologo >/dev/null
fi

mkdir -p "$RUN"
run_settings_save
# The fleet CA is made with the node's PKI, so the broker trusts the devices' identity certificates from its first start;
# the credentials service issues them with it (below, as a password-protected PFX).
RMQ_TEST_FLEET_CA=fleet
if [ "$cluster" = 1 ]; then
  # Three nodes, one PKI (every node presents the same server certificate and checks devices against the same CRLs);
  # each node's state in .run/rabbitmq-K.state (ops/restart.sh rabbitmq-K), the cluster's in .run/rabbitmq-cluster.state.
  # shellcheck source=ops/rabbitmq-cluster.sh
  . ops/rabbitmq-cluster.sh
  rmq_cluster_start 3 "$RUN" || { rmq_cluster_stop; exit 1; }
  rmq_cluster_state >"$RUN/rabbitmq-cluster.state"
  # Node 1's state is loaded: the set-up below goes through it (users, permissions, policies and queues are the cluster's).
  RMQ_URI="amqp://guest:guest@127.0.0.1:$RMQ_PORT/"
  AMQPS_NODES=$(rmq_cluster_uris amqps)
  MQTTS_NODES=$(rmq_cluster_uris mqtts)
  IFS=, read -ra MANAGEMENT_NODES <<<"$(rmq_cluster_uris management)"
else
  rmq_node_start
  rmq_node_state >"$RUN/rabbitmq.state"
  AMQPS_NODES='' MQTTS_NODES="127.0.0.1:$RMQ_MQTTS_PORT" MANAGEMENT_NODES=("127.0.0.1:$RMQ_MANAGEMENT_PORT")
fi
if [ "$shared_store" = 1 ]; then
  # The services' shared store: PostgreSQL on 127.0.0.1, durable (fsync on); each service makes its own schema there.
  # shellcheck source=ops/postgres.sh
  . ops/postgres.sh
  PG_LOG_PREFIX=ops/up.sh
  PG_THROWAWAY=0 pg_server_start || { log "could not start PostgreSQL"; exit 1; }
  (umask 077; pg_server_state >"$RUN/postgres.state")
fi

# Each process's own user, with exactly the rights the bus catalogue gives it, and the shared topology (type exchanges
# bound to the queues that take them, the device channel) declared here, with guest, so that no user needs rights on it.
# shellcheck source=ops/broker-users.sh
. ops/broker-users.sh
if [ "$cluster" = 1 ]; then BROKER_QUORUM=1; fi
broker_setup / "$RMQ_URI"
# The credentials service's management-API user (the one administrator a service holds): devices' broker users come and go with it.
broker_setup_device_identities
# The gateway's rights in the devices' virtual host (the MQTT side of the channel).
broker_setup_devices "$RMQ_MQTT_VHOST"
rmq_ctl delete_user guest >/dev/null
# Every process reaches the broker over TLS and trusts only the broker CA; plain AMQP stays on 127.0.0.1 for set-up alone.
BROKER_CA=$RMQ_PKI_DIR/ca.crt
uri() { echo "amqps://$1:${PASSWORD[$1]}@127.0.0.1:$RMQ_AMQPS_PORT/${2:-}"; }

# The fleet CA's key leaves the broker's directory: only the credentials service holds it, in a PFX with its own password.
mkdir -p "$RUN/credentials/data"
FLEET_PFX=$RUN/credentials/data/fleet-ca.pfx
FLEET_PFX_PASSWORD=$(od -An -N18 -tx1 /dev/urandom | tr -dc '0-9a-f')
(umask 077; PFX_PASSWORD=$FLEET_PFX_PASSWORD openssl pkcs12 -export -in "$RMQ_PKI_DIR/fleet.crt" -inkey "$RMQ_PKI_DIR/fleet.key" \
   -out "$FLEET_PFX" -passout env:PFX_PASSWORD)
shred -u "$RMQ_PKI_DIR/fleet.key" 2>/dev/null || rm -f "$RMQ_PKI_DIR/fleet.key"
# Its certificate, where the gateway and the certificates service read it (public).
mkdir -p "$RUN/credentials/data/ca"
cp "$RMQ_PKI_DIR/fleet.crt" "$RUN/credentials/data/ca/fleet-ca.pem"

if [ "$shared_store" = 1 ]; then
  # Keys every replica of a service must share, made once here (a replica never makes one of its own): the gateway's
  # command-signing key and the certificates service's signing PFX (ops/fleet-keys.sh); the fleet CA's PFX is above.
  KEYS=$RUN/keys
  SIGNING_PFX_PASSWORD=$(od -An -N18 -tx1 /dev/urandom | tr -dc '0-9a-f')
  SIGNING_PFX_PASSWORD=$SIGNING_PFX_PASSWORD ORGANISATION=${Certificates__Organisation:-Decommission} ops/fleet-keys.sh "$KEYS"
fi

port=${DECOM_HTTP_BASE:-5081}
declare -A URL
# configure NAME Section__Key=value...: the service's directory and its owner-only settings file.
configure() {
  local name=$1; shift
  mkdir -p "$RUN/$name/data"
  port=$(_rmq_free_port "$port")
  URL[$name]=http://127.0.0.1:$port
  (umask 077; printf '%s\n' "# settings of $name (ops/up.sh); secrets: keep this file owner-only" >"$RUN/$name/service.env"
   for setting in "ASPNETCORE_URLS=${URL[$name]}" Bus__Transport=RabbitMq Bus__DeclareConsumeTopology=false \
       "Bus__BrokerCaCertificatePath=$BROKER_CA" "$@"; do
     printf '%s=%q\n' "${setting%%=*}" "${setting#*=}"
   done >>"$RUN/$name/service.env")
  port=$((port + 1))
}

D=$RUN
# Every replica of a service gets the same settings but its own HTTP port, directory, log and pid (and SQLite path, which
# a replica with Storage__Postgres does not use); on a cluster, every node (Broker__Nodes) and quorum queues; with replicas,
# the shared store and the shared keys. A service's shared files stay where a single run has them: .run/credentials/data
# (the fleet CA PFX and certificate, the published CRL), .run/certificates/data (issued certificates).
common=()
if [ "$cluster" = 1 ]; then common+=("Broker__Nodes=$AMQPS_NODES" Broker__QuorumQueues=true); fi
if [ "$shared_store" = 1 ]; then common+=("Storage__Postgres=$PG_CONNECTION"); fi
# With a shared store the services refuse to make keys of their own (a replica must never): they get these.
if [ "$shared_store" = 1 ]; then
  SIGNING_KEY=$KEYS/command-signing.key.pem GATEWAY_PUBLIC_KEY=$KEYS/public/command-signing.pub.pem
  SIGNING_CA=$KEYS/public/disposal-authority-ca.pem
  signing=(Certificates__SigningPfxPath="$KEYS/certificate-signing.pfx" Certificates__SigningPfxPassword="$SIGNING_PFX_PASSWORD")
else
  SIGNING_KEY=$D/device-gateway/data/command-signing.key.pem GATEWAY_PUBLIC_KEY=$D/device-gateway/data/command-signing.pub.pem
  SIGNING_CA=$D/certificates/data/signing/disposal-authority-ca.pem
  signing=()
fi
mqtt=() k=0
IFS=, read -ra mqtt_nodes <<<"$MQTTS_NODES"
for node in "${mqtt_nodes[@]}"; do mqtt+=("Credentials__Provisioning__MqttServers__$k=$node"); k=$((k + 1)); done

# instance NAME K: the K-th process of service NAME (NAME itself when there is one).
instance() { if [ "$replicas" = 1 ]; then echo "$1"; else echo "$1-$2"; fi; }
INSTANCES=()
for k in $(seq 1 "$replicas"); do
  i=$(instance orchestrator "$k"); INSTANCES+=("$i")
  configure "$i" Bus__RabbitMqUri="$(uri orchestrator)" Orchestrator__DatabasePath="$D/$i/data/orchestrator.db" "${common[@]}"
  i=$(instance inventory "$k"); INSTANCES+=("$i")
  configure "$i" Bus__RabbitMqUri="$(uri inventory)" Inventory__DatabasePath="$D/$i/data/inventory.db" "${common[@]}"
  i=$(instance credentials "$k"); INSTANCES+=("$i")
  # Its management API calls (devices' broker users) go to a node of its own, spread over the nodes, and to the others
  # in turn when that one does not answer.
  management=
  for ((m = 0; m < ${#MANAGEMENT_NODES[@]}; m++)); do
    management+="${management:+,}http://${MANAGEMENT_NODES[$(((k - 1 + m) % ${#MANAGEMENT_NODES[@]}))]}/"
  done
  configure "$i" Bus__RabbitMqUri="$(uri credentials)" Credentials__DatabasePath="$D/$i/data/credentials.db" \
    Credentials__DataDirectory="$D/credentials/data" \
    Credentials__CaPfxPath="$FLEET_PFX" Credentials__CaPfxPassword="$FLEET_PFX_PASSWORD" \
    Credentials__DeviceBroker__ManagementUri="$management" \
    Credentials__DeviceBroker__Username="$DEVICE_IDENTITY_ADMIN" Credentials__DeviceBroker__Password="${PASSWORD[$DEVICE_IDENTITY_ADMIN]}" \
    Credentials__DeviceBroker__VirtualHost="$RMQ_MQTT_VHOST" \
    "${mqtt[@]}" Credentials__Provisioning__BrokerCaCertificatePath="$RMQ_PKI_DIR/ca.crt" \
    Credentials__Provisioning__CommandSigningPublicKeyPaths__0="$GATEWAY_PUBLIC_KEY" "${common[@]}"
  i=$(instance device-gateway "$k"); INSTANCES+=("$i")
  configure "$i" Bus__RabbitMqUri="$(uri device-gateway)" \
    DeviceGateway__DeviceBrokerUri="$(uri device-gateway "$RMQ_MQTT_VHOST")" DeviceGateway__DeviceBrokerCaCertificatePath="$BROKER_CA" \
    DeviceGateway__DatabasePath="$D/$i/data/device-gateway.db" DeviceGateway__SigningKeyPath="$SIGNING_KEY" \
    DeviceGateway__FleetCaCertificatePath="$D/credentials/data/ca/fleet-ca.pem" "${common[@]}"
  i=$(instance certificates "$k"); INSTANCES+=("$i")
  configure "$i" Bus__RabbitMqUri="$(uri certificates)" Certificates__DatabasePath="$D/$i/data/certificates.db" \
    Certificates__DataDirectory="$D/certificates/data" Certificates__FleetCaCertificatePath="$D/credentials/data/ca/fleet-ca.pem" \
    Certificates__CommandSigningPublicKeyPath="$GATEWAY_PUBLIC_KEY" "${signing[@]}" "${common[@]}"
done
# Which processes the run has (ops/status.sh, ops/restart.sh); ops/down.sh stops whatever has a pid file.
printf '%s\n' "${INSTANCES[@]}" >"$RUN/instances"

# The broker checks every device certificate against the fleet CA's CRL: the credentials service's own, installed as it is
# published (ops/rabbitmq/fleet-crl-sync.sh, as in compose), so a revoked device is refused at the TLS handshake as well as
# at login. It runs beside the services (ops/down.sh stops it with them).
mkdir -p "$RUN/fleet-crl-sync"
crl_sync=$PWD/ops/rabbitmq/fleet-crl-sync.sh
# shellcheck disable=SC2016  # $$ and $0 are the inner shell's
( cd "$RUN/fleet-crl-sync" && export FLEET_CRL_PUBLISHED="$D/credentials/data/crl/fleet.crl" FLEET_CA_CERTIFICATE="$RMQ_PKI_DIR/fleet.crt" \
    BROKER_CRL_DIR="$RMQ_PKI_DIR/crl" FLEET_CRL_POLL_SECONDS=2 && \
    exec setsid bash -c 'echo $$ > pid; exec "$0"' "$crl_sync" ) >>"$RUN/fleet-crl-sync/service.log" 2>&1 </dev/null &

# One replica of each service first, and the others once it has started: a service's first start makes its schema (SQLite
# file or PostgreSQL schema) and its shared files (the fleet CA certificate, the command-signing public key).
for name in "${INSTANCES[@]}"; do
  [ "$name" = "$(instance "${name%-[0-9]*}" 1)" ] || continue
  svc_launch "$name"
  log "$name: pid $(svc_pid "$name"), ${URL[$name]}, log $RUN/$name/service.log"
done
for name in "${INSTANCES[@]}"; do [ "$name" != "$(instance "${name%-[0-9]*}" 1)" ] || svc_wait_started "$name"; done
for name in "${INSTANCES[@]}"; do
  [ "$name" != "$(instance "${name%-[0-9]*}" 1)" ] || continue
  svc_launch "$name"
  log "$name: pid $(svc_pid "$name"), ${URL[$name]}, log $RUN/$name/service.log"
done
for name in "${INSTANCES[@]}"; do [ "$name" = "$(instance "${name%-[0-9]*}" 1)" ] || svc_wait_started "$name"; done

# An auditor key for the operator's decom (certificates download/verify), shown nowhere else.
# shellcheck source=/dev/null
api_key=$( (set -a; . "$RUN/$(instance certificates 1)/service.env"; dotnet "$(svc_dll certificates)" create-api-key --name operator --role auditor 2>/dev/null) )

if [ "$fleet" -gt 0 ]; then
  # Devices speak MQTT over TLS, each with its own identity certificate: they come online as their bundles arrive.
  configure device-agent DeviceAgent__DeviceCount="$fleet" \
    DeviceAgent__AttestationKeysOut="$D/device-agent/data/attestation-keys.csv" \
    DeviceAgent__ProvisioningDirectory="$D/device-agent/provisioning" \
    DeviceAgent__DataDirectory="$D/device-agent/devices"
  svc_launch device-agent
  svc_wait_started device-agent
  log "device-agent: pid $(svc_pid device-agent), $fleet devices; enroll them with: decom devices enroll $D/device-agent/data/attestation-keys.csv --bundles $D/device-agent/provisioning"
fi

# What an operator and a fleet need, owner-only.
(umask 077
 {
   echo "DECOM_BROKER=$(uri operator)"
   # decom tries each node in turn (a cluster).
   [ -z "$AMQPS_NODES" ] || echo "DECOM_BROKER_NODES=$AMQPS_NODES"
   echo "DECOM_BROKER_CA=$BROKER_CA"
   echo "DECOM_API=${URL[$(instance certificates 1)]}"
   echo "DECOM_API_KEY=$api_key"
   echo "DECOM_CRL=${URL[$(instance credentials 1)]}/crl"
   # The devices' MQTT servers: every node, comma-separated, on a cluster.
   echo "DECOM_DEVICE_MQTT=$MQTTS_NODES"
   echo "DECOM_GATEWAY_PUBLIC_KEY=$GATEWAY_PUBLIC_KEY"
   # Where decom devices enroll --bundles "$DECOM_DEVICE_BUNDLES" writes the devices' provisioning bundles (the agent reads them).
   echo "DECOM_DEVICE_BUNDLES=$D/device-agent/provisioning"
   echo "DECOM_SIGNING_CA=$SIGNING_CA"
 } >"$RUN/operator.env")
if [ "$cluster" = 1 ]; then
  log "RabbitMQ cluster: AMQPS $AMQPS_NODES, MQTTS $MQTTS_NODES; PostgreSQL 127.0.0.1:$PG_PORT; $replicas replicas of each service"
else
  log "RabbitMQ: AMQPS 127.0.0.1:$RMQ_AMQPS_PORT, MQTTS 127.0.0.1:$RMQ_MQTTS_PORT (node $RMQ_NODE)${PG_PORT:+; PostgreSQL 127.0.0.1:$PG_PORT}"
fi
log "operator settings in $RUN/operator.env (set -a; . $RUN/operator.env)"
log "up. Stop with ops/down.sh"
