# shellcheck shell=bash
# The broker's users, their permissions and the shared topology, all from the bus catalogue
# (contracts/Decommission.Topology): nothing here names a queue, an exchange or a right. Source after ops/rabbitmq-node.sh
# (with a node started or its state loaded), then:
#
#   broker_setup VHOST ADMIN_URI   creates every catalogue user with a fresh random password (in PASSWORD[user]) and its
#                                  permissions on VHOST, and declares the shared topology there through ADMIN_URI (its
#                                  queues quorum queues when BROKER_QUORUM=1: a cluster)
#   broker_setup_device_identities creates the devices' virtual host and the credentials service's management user
#                                  (DeviceIdentityAdministrator: the administrator tag, nobody else's) with a fresh random
#                                  password (in PASSWORD[user]); its name in DEVICE_IDENTITY_ADMIN
#   broker_setup_devices VHOST     gives the catalogue users with rights in the devices' virtual host VHOST (the MQTT
#                                  plugin's, e.g. iot; the gateway) those rights: permissions and topic permissions on
#                                  amq.topic. Run after broker_setup (the users exist then). The node's session policy
#                                  comes with the node (ops/rabbitmq-node.sh) or the definitions (ops/rabbitmq/definitions.json).
#
# Env: DECOM_TOPOLOGY_DLL (default: the build of $CONFIGURATION, else Release).

declare -A PASSWORD=()
DEVICE_IDENTITY_ADMIN=''

_broker_topology() {
  local dll=${DECOM_TOPOLOGY_DLL:-$PWD/contracts/Decommission.Topology/bin/${CONFIGURATION:-Release}/net10.0/Decommission.Topology.dll}
  [ -f "$dll" ] || { echo "broker-users.sh: $dll is not built" >&2; return 1; }
  dotnet "$dll" "$@"
}

broker_setup() {
  local vhost=$1 admin_uri=$2 lines user configure write read
  lines=$(_broker_topology users) || return 1
  # Every rabbitmqctl gets /dev/null as stdin: it would swallow the lines still to read.
  while IFS=$'\t' read -r user configure write read; do
    [ -n "$user" ] || continue
    PASSWORD[$user]=$(od -An -N18 -tx1 /dev/urandom | tr -dc '0-9a-f')
    rmq_ctl delete_user "$user" </dev/null >/dev/null 2>&1 || true
    rmq_ctl add_user "$user" "${PASSWORD[$user]}" </dev/null >/dev/null || return 1
    rmq_ctl set_permissions -p "$vhost" "$user" "$configure" "$write" "$read" </dev/null >/dev/null || return 1
  done <<<"$lines"
  if [ "${BROKER_QUORUM:-0}" = 1 ]; then _broker_topology declare "$admin_uri" --quorum; else _broker_topology declare "$admin_uri"; fi
}

broker_setup_device_identities() {
  local line user tag vhost configure write read
  line=$(_broker_topology device-identity-administrator) || return 1
  IFS=$'\t' read -r user tag vhost configure write read <<<"$line"
  PASSWORD[$user]=$(od -An -N18 -tx1 /dev/urandom | tr -dc '0-9a-f')
  # Two rabbitmqctl calls (each costs a second or more): the vhost (left as it is if it exists), the user with its tag and
  # permissions but no password, then its password. The patterns hold backslashes: JSON wants them doubled.
  rmq_ctl import_definitions >/dev/null <<EOF || return 1
{ "vhosts": [{ "name": "$vhost" }],
  "users": [{ "name": "$user", "password_hash": "", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["$tag"] }],
  "permissions": [{ "user": "$user", "vhost": "$vhost", "configure": "${configure//\\/\\\\}", "write": "${write//\\/\\\\}", "read": "${read//\\/\\\\}" }] }
EOF
  rmq_ctl change_password "$user" "${PASSWORD[$user]}" </dev/null >/dev/null || return 1
  # shellcheck disable=SC2034  # read by ops/up.sh
  DEVICE_IDENTITY_ADMIN=$user
}

broker_setup_devices() {
  local vhost=$1 lines user configure write read topic_write topic_read
  lines=$(_broker_topology device-users) || return 1
  while IFS=$'\t' read -r user configure write read topic_write topic_read; do
    [ -n "$user" ] || continue
    rmq_ctl set_permissions -p "$vhost" "$user" "$configure" "$write" "$read" </dev/null >/dev/null || return 1
    rmq_ctl set_topic_permissions -p "$vhost" "$user" amq.topic "$topic_write" "$topic_read" </dev/null >/dev/null || return 1
  done <<<"$lines"
}
