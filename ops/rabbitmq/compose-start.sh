#!/usr/bin/env bash
# The compose broker's start (docker-compose.yml): RabbitMQ as its image starts it, then the bus catalogue's users, their
# permissions and the shared topology (definitions.json, generated from contracts/Decommission.Topology), then each user's
# password from BROKER_PASSWORD_<USER> (ORCHESTRATOR, DEVICE_GATEWAY, …). A user without one cannot log in. The health
# check waits for /tmp/decommission-broker-ready, so no service connects before its user can. Meanwhile, and for as long
# as the broker runs, it installs the fleet CA's newest CRL (fleet-crl-sync.sh).
set -euo pipefail
rm -f /tmp/decommission-broker-ready

# A cluster node (profile cluster): the cluster's one Erlang cookie, before the node (or its CLI) starts.
if [ -n "${BROKER_ERLANG_COOKIE_FILE:-}" ]; then
  install -m 400 -o rabbitmq -g rabbitmq "$BROKER_ERLANG_COOKIE_FILE" /var/lib/rabbitmq/.erlang.cookie
fi

# The fleet CA's newest CRL, installed for the broker for as long as it runs (fleet-crl-sync.sh).
bash "$(dirname "${BASH_SOURCE[0]}")/fleet-crl-sync.sh" &
crl_sync=$!

docker-entrypoint.sh rabbitmq-server &
server=$!
trap 'kill -TERM "$crl_sync" 2>/dev/null; kill -TERM "$server" 2>/dev/null; wait "$server"; exit' TERM INT

# rabbitmqctl talks to the node with the cookie in the broker's home, whoever runs this script.
ctl() { HOME=/var/lib/rabbitmq rabbitmqctl -q "$@"; }
until ctl await_startup >/dev/null 2>&1; do
  kill -0 "$server" 2>/dev/null || { wait "$server"; exit 1; }
  sleep 1
done
# Every feature flag on: a cluster's nodes need them for quorum queues (a single node has them from its first boot).
ctl enable_feature_flag all
ctl import_definitions /etc/rabbitmq/decommission/definitions.json
for variable in ${!BROKER_PASSWORD_@}; do
  [ -n "${!variable}" ] || continue
  user=${variable#BROKER_PASSWORD_}; user=${user//_/-}; user=${user,,}
  ctl change_password "$user" "${!variable}"
done
touch /tmp/decommission-broker-ready
wait "$server"
