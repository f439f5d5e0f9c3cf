#!/usr/bin/env bash
# docker-compose.yml's one-shot `pki` step, run before the broker starts at every `docker compose up` (in the broker's
# image, as root): the deployment's TLS material, made by ops/pki.sh into the `pki` volume, which no other container
# mounts (both CAs' private keys stay there), then handed out, each part to the volume of the containers that need it:
#
#   broker-tls    (the broker)          server.crt, server.key (the broker's user only), ca.crt, client-cas.pem (the
#                                       client-certificate trust anchors: the fleet CA), fleet-ca.crt, crl/ (the fleet
#                                       CA's CRL, hashed; compose-start.sh then installs the credentials service's own)
#   broker-ca     (every service)       ca.crt: the CA the broker's server certificate chains to
#   fleet-ca-key  (credentials only)    fleet-ca.pfx: the fleet CA and its private key, protected by FLEET_CA_PFX_PASSWORD,
#                                       readable by the services' user alone
#   fleet-crl     (credentials writes,  nothing from here: made the services' user's, for the CRLs the credentials service
#                  the broker reads)    publishes (its /data/crl)
#
# Makes only what is missing, and the server certificate again when its names change or it has under 30 days left; the
# PFX is written afresh each time (a changed FLEET_CA_PFX_PASSWORD takes effect at the next start of credentials).
#
# Env: BROKER_HOSTNAMES (names or addresses devices and operators reach the broker by, space-separated, besides
# `rabbitmq`, localhost and 127.0.0.1), FLEET_CA_PFX_PASSWORD (required), SERVICE_UID (the services' user, default 1654:
# APP_UID of mcr.microsoft.com/dotnet/aspnet), BROKER_USER (default rabbitmq); the directories below (the mounts).
set -euo pipefail

PKI_SH=${PKI_SH:-/opt/decommission/pki.sh}
PKI_DIR=${PKI_DIR:-/pki/broker}
BROKER_TLS_DIR=${BROKER_TLS_DIR:-/out/broker-tls}
BROKER_CA_DIR=${BROKER_CA_DIR:-/out/broker-ca}
FLEET_CA_DIR=${FLEET_CA_DIR:-/out/fleet-ca}
FLEET_CRL_DIR=${FLEET_CRL_DIR:-/out/fleet-crl}
SERVICE_UID=${SERVICE_UID:-1654}
BROKER_USER=${BROKER_USER:-rabbitmq}
: "${FLEET_CA_PFX_PASSWORD:?set FLEET_CA_PFX_PASSWORD (it protects the fleet CA PFX)}"

log() { echo "compose-pki.sh: $*" >&2; }

read -ra extra <<<"${BROKER_HOSTNAMES:-}"
names=(rabbitmq "${extra[@]}")

mkdir -p "$PKI_DIR"
chmod 700 "$PKI_DIR"
if [ ! -s "$PKI_DIR/server.crt" ] || [ "$(cat "$PKI_DIR/server.names" 2>/dev/null)" != "${names[*]}" ] ||
   ! openssl x509 -in "$PKI_DIR/server.crt" -noout -checkend $((30 * 86400)) >/dev/null; then
  bash "$PKI_SH" server "$PKI_DIR" "${names[@]}"
  echo "${names[*]}" >"$PKI_DIR/server.names"
  log "made the broker's server certificate for localhost, 127.0.0.1, ${names[*]}"
fi
if [ ! -e "$PKI_DIR/fleet.crt" ]; then
  bash "$PKI_SH" ca "$PKI_DIR" fleet
  log "made the fleet CA"
fi

# The broker's: its certificate and key, the trust anchors, and the fleet CA's first (empty) CRL, never over a newer one.
install -d -m 755 "$BROKER_TLS_DIR" "$BROKER_TLS_DIR/crl"
install -m 644 "$PKI_DIR/ca.crt" "$PKI_DIR/server.crt" "$PKI_DIR/client-cas.pem" "$BROKER_TLS_DIR/"
install -m 644 "$PKI_DIR/fleet.crt" "$BROKER_TLS_DIR/fleet-ca.crt"
install -m 600 -o "$BROKER_USER" "$PKI_DIR/server.key" "$BROKER_TLS_DIR/.server.key"
mv -f "$BROKER_TLS_DIR/.server.key" "$BROKER_TLS_DIR/server.key"
if [ ! -e "$BROKER_TLS_DIR/crl/fleet.crl.pem" ]; then
  install -m 644 "$PKI_DIR/crl/fleet.crl.pem" "$BROKER_TLS_DIR/crl/fleet.crl.pem"
  openssl rehash "$BROKER_TLS_DIR/crl" >/dev/null
fi

# Every service's: the broker CA certificate (public).
install -d -m 755 "$BROKER_CA_DIR"
install -m 644 "$PKI_DIR/ca.crt" "$BROKER_CA_DIR/ca.crt"

# The credentials service's: the fleet CA with its key, as a password-protected PFX (AES, which .NET reads everywhere).
install -d -m 755 "$FLEET_CA_DIR"
(umask 077
 openssl pkcs12 -export -inkey "$PKI_DIR/fleet.key" -in "$PKI_DIR/fleet.crt" -name "Decommission fleet CA" \
   -keypbe AES-256-CBC -certpbe AES-256-CBC -macalg sha256 -passout env:FLEET_CA_PFX_PASSWORD -out "$FLEET_CA_DIR/.fleet-ca.pfx")
chown "$SERVICE_UID" "$FLEET_CA_DIR/.fleet-ca.pfx"
chmod 400 "$FLEET_CA_DIR/.fleet-ca.pfx"
mv -f "$FLEET_CA_DIR/.fleet-ca.pfx" "$FLEET_CA_DIR/fleet-ca.pfx"
# The credentials service publishes its CRLs here; the broker, which mounts it first, would leave it root's.
install -d -m 755 -o "$SERVICE_UID" "$FLEET_CRL_DIR"
log "the broker's TLS material, the broker CA and the fleet CA PFX are in place"
