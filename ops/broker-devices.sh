# shellcheck shell=bash
# A device's own broker identity: the rules of "each device alone" in one place. Source after ops/rabbitmq-node.sh (with a
# node started or its state loaded), then:
#
#   device_broker_definitions VHOST ID   print the device's user and permissions as RabbitMQ definitions (JSON): what
#                                        rabbitmqctl import_definitions, or the management API's POST /api/definitions, takes
#   device_broker_add VHOST ID           create (or reset) the device's user and permissions on the node
#   device_broker_quarantine VHOST ID    narrow it to the decommission topics (its commands, its receipts): its telemetry
#                                        is refused from then on; its live connections are closed, because narrowed
#                                        permissions do not reach a connection that already uses a topic
#   device_broker_remove VHOST ID        delete them: its live MQTT connections close at once, its next connect is refused;
#                                        its session queues go too (they would keep collecting its commands)
#
# The user is the device id, which is also the CN of its identity certificate (the broker logs devices in by certificate,
# ssl_cert_login_from = common_name), and it has no password: no password login works for it, over MQTT or AMQP.
# Its MQTT client id must be the device id too, as its session queue (mqtt-subscription-<client id>qos0|1) is the only
# queue it may use. On amq.topic (MQTT's exchange; MQTT "/" is "." in its routing keys) it may read only
# devices.<id>.commands and write only devices.<id>.receipts and devices.<id>.telemetry: topic permissions expand
# {username}, never {client_id}, which a device chooses itself.

# Topic permissions on amq.topic (regular expressions; RabbitMQ expands {username}).
DEVICE_TOPIC_READ='^devices\.{username}\.commands$'
DEVICE_TOPIC_WRITE='^devices\.{username}\.(receipts|telemetry)$'
DEVICE_TOPIC_WRITE_QUARANTINED='^devices\.{username}\.receipts$'

# Device ids become user names, queue names and regular expressions: nothing but letters, digits, - and _.
_device_id_valid() {
  [[ $1 =~ ^[A-Za-z0-9_-]{1,64}$ ]] || { echo "broker-devices.sh: bad device id '$1'" >&2; return 1; }
}

device_broker_definitions() {
  local vhost=$1 id=$2
  _device_id_valid "$id" || return 1
  [[ $vhost =~ ^[A-Za-z0-9_.-]+$ ]] || { echo "broker-devices.sh: bad virtual host '$vhost'" >&2; return 1; }
  # Vhost permissions do not expand variables: they name the device's own session queues. Write and read on amq.topic
  # are needed to publish and to bind its session queue; the topic permissions below narrow them to its own topics.
  local session="mqtt-subscription-${id}qos[01]" read=${DEVICE_TOPIC_READ//\\/\\\\} write=${DEVICE_TOPIC_WRITE//\\/\\\\}
  cat <<EOF
{
  "users": [{ "name": "$id", "password_hash": "", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": [] }],
  "permissions": [{ "user": "$id", "vhost": "$vhost",
                    "configure": "^$session\$",
                    "write": "^(amq\\\\.topic|$session)\$",
                    "read": "^(amq\\\\.topic|$session)\$" }],
  "topic_permissions": [{ "user": "$id", "vhost": "$vhost", "exchange": "amq.topic",
                          "write": "$write", "read": "$read" }]
}
EOF
}

device_broker_add() {
  local definitions
  definitions=$(device_broker_definitions "$1" "$2") || return 1
  # One rabbitmqctl call (each costs a second or more), from stdin: no file the node's user would need to read.
  rmq_ctl import_definitions >/dev/null <<<"$definitions"
}

device_broker_quarantine() {
  local vhost=$1 id=$2
  _device_id_valid "$id" || return 1
  rmq_ctl set_topic_permissions -p "$vhost" "$id" amq.topic "$DEVICE_TOPIC_WRITE_QUARANTINED" "$DEVICE_TOPIC_READ" \
    </dev/null >/dev/null || return 1
  # rabbitmqctl close_connection and close_all_user_connections do not reach MQTT connections on RabbitMQ 3.10.
  rmq_ctl eval "rabbit_connection_tracking:close_connections(
    rabbit_connection_tracking:list_of_user(<<\"$id\">>), \"quarantined\", 0)." </dev/null >/dev/null
}

device_broker_remove() {
  local vhost=$1 id=$2 qos
  _device_id_valid "$id" || return 1
  rmq_ctl delete_user "$id" </dev/null >/dev/null || return 1
  for qos in 0 1; do
    # Absent when the device never subscribed with that QoS.
    rmq_ctl delete_queue -p "$vhost" "mqtt-subscription-${id}qos$qos" </dev/null >/dev/null 2>&1 || true
  done
}
