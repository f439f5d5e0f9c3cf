#!/usr/bin/env bash
# The compose broker's start (docker-compose.yml): RabbitMQ as its image starts it, then the bus catalogue's users, their
# permissions and the shared topology (definitions.json, generated from contracts/Decommission.Topology), then each user's
# password from BROKER_PASSWORD_<USER> (ORCHESTRATOR, DEVICE_GATEWAY, …). A user without one cannot log in. The health
# check waits for /tmp/decommission-broker-ready, so no service connects before its user can. Meanwhile, and for as long
# as the broker runs, it installs the fleet CA's newest CRL (sync_fleet_crl).
set -euo pipefail
rm -f /tmp/decommission-broker-ready

# The fleet CA's CRL as the credentials service publishes it (DER, on the fleet-crl volume), checked against the fleet CA
# and installed where the broker looks for it (PEM, in the hashed CRL directory of the broker-tls volume, under the name
# compose-pki.sh gave the first one, so its hash link stays); the broker reads it at the next handshake. A revoked device's
# certificate is then refused at the handshake, besides its broker user being gone. A CRL that is not the fleet CA's is
# not installed.
sync_fleet_crl() {
  local published=/etc/rabbitmq/fleet-crl/fleet.crl crl=/etc/rabbitmq/tls/crl last='' stamp
  while sleep "${FLEET_CRL_POLL_SECONDS:-10}"; do
    [ -s "$published" ] || continue
    stamp=$(cksum <"$published")
    [ "$stamp" != "$last" ] || continue
    last=$stamp
    if openssl crl -inform DER -in "$published" -CAfile /etc/rabbitmq/tls/fleet-ca.crt -out "$crl/.fleet.crl.pem" 2>/dev/null; then
      chmod 644 "$crl/.fleet.crl.pem"
      mv -f "$crl/.fleet.crl.pem" "$crl/fleet.crl.pem"
      echo "compose-start.sh: installed the fleet CRL ($(openssl crl -in "$crl/fleet.crl.pem" -noout -crlnumber -nextupdate | tr '\n' ' '))"
    else
      rm -f "$crl/.fleet.crl.pem"
      echo "compose-start.sh: $published is not a CRL signed by the fleet CA: kept the one installed" >&2
    fi
  done
}
sync_fleet_crl &
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
ctl import_definitions /etc/rabbitmq/decommission/definitions.json
for variable in ${!BROKER_PASSWORD_@}; do
  [ -n "${!variable}" ] || continue
  user=${variable#BROKER_PASSWORD_}; user=${user//_/-}; user=${user,,}
  ctl change_password "$user" "${!variable}"
done
touch /tmp/decommission-broker-ready
wait "$server"
