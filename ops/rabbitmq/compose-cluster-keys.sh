#!/usr/bin/env bash
# docker-compose.yml's one-shot `fleet-keys` step (profile cluster), before the broker nodes and the replicas: what the
# cluster's members must share, made once (only what is missing) in the `cluster-keys` volume, which nothing else mounts, and
# handed out:
#
#   broker-cookie  (the broker nodes)          .erlang.cookie: one Erlang cookie, or the nodes cannot cluster
#   gateway-key    (the gateway replicas)      command-signing.key.pem (ops/fleet-keys.sh), the services' user's, 0600
#   signing-key    (the certificates replicas) certificate-signing.pfx, protected by SIGNING_PFX_PASSWORD
#
# Env: SIGNING_PFX_PASSWORD (required), SERVICE_UID (default 1654: APP_UID of mcr.microsoft.com/dotnet/aspnet), BROKER_USER
# (default rabbitmq); the directories below (the mounts).
set -euo pipefail
FLEET_KEYS_SH=${FLEET_KEYS_SH:-/opt/decommission/fleet-keys.sh}
KEYS_DIR=${KEYS_DIR:-/keys}
COOKIE_DIR=${COOKIE_DIR:-/out/broker-cookie}
GATEWAY_KEY_DIR=${GATEWAY_KEY_DIR:-/out/gateway-key}
SIGNING_KEY_DIR=${SIGNING_KEY_DIR:-/out/signing-key}
SERVICE_UID=${SERVICE_UID:-1654}
BROKER_USER=${BROKER_USER:-rabbitmq}
: "${SIGNING_PFX_PASSWORD:?set SIGNING_PFX_PASSWORD (it protects the certificate-signing PFX)}"

bash "$FLEET_KEYS_SH" "$KEYS_DIR/fleet"
if [ ! -s "$KEYS_DIR/.erlang.cookie" ]; then
  (umask 077; od -An -N24 -tx1 /dev/urandom | tr -dc 'A-Z0-9a-f' | tr 'a-f' 'A-F' >"$KEYS_DIR/.erlang.cookie")
fi

install -d -m 755 "$COOKIE_DIR"
install -m 400 -o "$BROKER_USER" "$KEYS_DIR/.erlang.cookie" "$COOKIE_DIR/.erlang.cookie"
# The gateway writes the key's public half beside it: its directory is the services' user's.
install -d -m 700 -o "$SERVICE_UID" "$GATEWAY_KEY_DIR" "$SIGNING_KEY_DIR"
install -m 600 -o "$SERVICE_UID" "$KEYS_DIR/fleet/command-signing.key.pem" "$GATEWAY_KEY_DIR/command-signing.key.pem"
install -m 400 -o "$SERVICE_UID" "$KEYS_DIR/fleet/certificate-signing.pfx" "$SIGNING_KEY_DIR/certificate-signing.pfx"
echo "compose-cluster-keys.sh: the broker cookie, the command-signing key and the certificate-signing PFX are in place" >&2
