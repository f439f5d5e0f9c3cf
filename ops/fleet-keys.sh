#!/usr/bin/env bash
# The keys every replica of a service must share, made once (openssl only) by whoever deploys — never by a replica on its
# own start: ops/up.sh --replicas/--cluster, and docker-compose.yml's `fleet-keys` step (profile cluster).
#
#   ops/fleet-keys.sh DIR
#
# Makes in DIR (owner-only, 0700) only what is missing:
#   command-signing.key.pem          the gateway's command-signing key (ECDSA P-256, PKCS#8 PEM, 0600): DeviceGateway:SigningKeyPath
#                                    of every gateway replica
#   certificate-signing.pfx          the certificates service's signing certificate and key, with the disposal-authority CA
#                                    that issued it, protected by SIGNING_PFX_PASSWORD: Certificates:SigningPfxPath (and
#                                    SigningPfxPassword) of every certificates replica
#   disposal-authority-ca.key.pem    the authority's key (0600), kept to issue a next signing certificate; nothing reads it
# and in DIR/public (0755, public halves only): command-signing.pub.pem (devices, the certificates service) and
# disposal-authority-ca.pem (auditors, decom certificates verify).
# The fleet CA is the broker PKI's (ops/pki.sh ca), handed to the credentials replicas as a PFX.
#
# Env: SIGNING_PFX_PASSWORD (required), ORGANISATION (default Decommission), KEY_OWNER (user:group the files are given to,
# e.g. the services' user in a container; default: the caller).
set -euo pipefail
dir=${1:?usage: ops/fleet-keys.sh DIR}
: "${SIGNING_PFX_PASSWORD:?set SIGNING_PFX_PASSWORD (it protects the certificate-signing PFX)}"
org=${ORGANISATION:-Decommission}
umask 077
install -d -m 700 "$dir"
install -d -m 755 "$dir/public"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; chmod 600 "$1"; }

if [ ! -s "$dir/command-signing.key.pem" ]; then
  key "$dir/.command-signing.key.pem"
  mv -f "$dir/.command-signing.key.pem" "$dir/command-signing.key.pem"
fi
openssl pkey -in "$dir/command-signing.key.pem" -pubout -out "$dir/public/command-signing.pub.pem"
chmod 644 "$dir/public/command-signing.pub.pem"

if [ ! -s "$dir/certificate-signing.pfx" ]; then
  key "$dir/disposal-authority-ca.key.pem"
  openssl req -new -x509 -key "$dir/disposal-authority-ca.key.pem" -out "$dir/public/disposal-authority-ca.pem" -days 7300 -sha256 \
    -subj "/O=$org/CN=$org Disposal Authority CA" -addext 'basicConstraints=critical,CA:TRUE,pathlen:0' \
    -addext 'keyUsage=critical,keyCertSign,cRLSign' -addext 'subjectKeyIdentifier=hash' 2>/dev/null
  chmod 644 "$dir/public/disposal-authority-ca.pem"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  key "$work/signing.key.pem"
  openssl req -new -key "$work/signing.key.pem" -subj "/O=$org/CN=$org Certificate Signing" -out "$work/signing.csr" 2>/dev/null
  printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature,nonRepudiation' \
    'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid:always' >"$work/signing.ext"
  openssl x509 -req -in "$work/signing.csr" -CA "$dir/public/disposal-authority-ca.pem" -CAkey "$dir/disposal-authority-ca.key.pem" \
    -set_serial "0x$(od -An -N16 -tx1 /dev/urandom | tr -dc '0-9a-f' | sed 's/^./7/')" -days 3650 -sha256 -extfile "$work/signing.ext" \
    -out "$work/signing.pem" 2>/dev/null
  PFX_PASSWORD=$SIGNING_PFX_PASSWORD openssl pkcs12 -export -inkey "$work/signing.key.pem" -in "$work/signing.pem" \
    -certfile "$dir/public/disposal-authority-ca.pem" -name "$org certificate signing" -keypbe AES-256-CBC -certpbe AES-256-CBC \
    -macalg sha256 -passout env:PFX_PASSWORD -out "$dir/.certificate-signing.pfx"
  mv -f "$dir/.certificate-signing.pfx" "$dir/certificate-signing.pfx"
fi
if [ -n "${KEY_OWNER:-}" ]; then chown -R "$KEY_OWNER" "$dir"; fi
