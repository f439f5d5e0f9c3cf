#!/usr/bin/env bash
# The compose broker's copy of the fleet CA's CRL (compose-start.sh runs it beside the broker): the CRL the credentials
# service publishes (DER, its /data/crl on the fleet-crl volume), checked against the fleet CA and installed where the
# broker looks for it (PEM, in the hashed CRL directory of the broker-tls volume, under the name compose-pki.sh gave the
# first one, so its hash link stays); the broker reads it at the next handshake. A revoked device's certificate is then
# refused at the handshake, besides its broker user being gone. A file that is not a CRL signed by the fleet CA is not
# installed.
#
#   fleet-crl-sync.sh          look every FLEET_CRL_POLL_SECONDS (default 10) for as long as it runs
#   fleet-crl-sync.sh --once   look once; exit 1 when the published file is there but not the fleet CA's CRL
#
# Env (defaults: the broker container's mounts): FLEET_CRL_PUBLISHED, FLEET_CA_CERTIFICATE, BROKER_CRL_DIR.
set -uo pipefail

published=${FLEET_CRL_PUBLISHED:-/etc/rabbitmq/fleet-crl/fleet.crl}
fleet_ca=${FLEET_CA_CERTIFICATE:-/etc/rabbitmq/tls/fleet-ca.crt}
crl=${BROKER_CRL_DIR:-/etc/rabbitmq/tls/crl}
last=''

# Installs the published CRL if it changed since the last look; 1 when it is not the fleet CA's.
install_newest() {
  [ -s "$published" ] || return 0
  local stamp
  stamp=$(cksum <"$published")
  [ "$stamp" != "$last" ] || return 0
  last=$stamp
  if ! openssl crl -inform DER -in "$published" -CAfile "$fleet_ca" -out "$crl/.fleet.crl.pem" 2>/dev/null; then
    rm -f "$crl/.fleet.crl.pem"
    echo "fleet-crl-sync.sh: $published is not a CRL signed by the fleet CA: kept the one installed" >&2
    return 1
  fi
  chmod 644 "$crl/.fleet.crl.pem"
  mv -f "$crl/.fleet.crl.pem" "$crl/fleet.crl.pem"
  echo "fleet-crl-sync.sh: installed the fleet CRL ($(openssl crl -in "$crl/fleet.crl.pem" -noout -crlnumber -nextupdate | tr '\n' ' '))"
}

if [ "${1:-}" = --once ]; then
  install_newest
  exit
fi
while sleep "${FLEET_CRL_POLL_SECONDS:-10}"; do
  install_newest
done
