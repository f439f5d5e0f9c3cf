#!/usr/bin/env bash
# The broker's TLS material (openssl only). Everything lives in one directory the caller names (the test node uses its own
# directory's pki/; a real broker a directory of its own, never the repository): private keys are created there at run
# time, owner-only (0600), and never leave it.
#
#   ops/pki.sh server DIR [NAME...]  a local CA (ca.crt, ca.key) and the broker's server certificate signed by it
#                                  (server.crt, server.key) for 127.0.0.1 and localhost, and for each extra NAME (a DNS
#                                  name or an IP address: the names clients reach the broker by, e.g. compose's
#                                  `rabbitmq`); clients trust ca.crt
#   ops/pki.sh ca DIR NAME         a client CA made here (NAME.crt, NAME.key; EC P-256), e.g. a test fleet CA that issues
#                                  device identity certificates (CN = device id); trusted as `trust` does, with an empty CRL
#   ops/pki.sh trust DIR CERT CRL  trust a client CA made elsewhere (the fleet CA of the credentials service): its
#                                  certificate joins client-cas.pem, its CRL (PEM) the CRL directory; the broker
#                                  reads client-cas.pem when it starts: trust before starting it, or restart it
#   ops/pki.sh revoke DIR NAME CERT  list CERT on the CRL of CA NAME (made by `ca`); the broker reads it at the next handshake
#   ops/pki.sh crl DIR NAME        issue CA NAME's CRL afresh (new nextUpdate) without changing what it lists
#
# What the broker reads (see ops/rabbitmq-node.sh): client-cas.pem (the client-certificate trust anchors), server.crt,
# server.key and crl/ (one PEM CRL per trusted CA, hashed with `openssl rehash`). The broker checks every client
# certificate against its CA's CRL: a trusted CA without a current CRL (missing, or past its nextUpdate) locks out every
# certificate it issued, so whoever holds a CA key must re-issue its CRL before PKI_CRL_DAYS run out.
#
# Env: PKI_DAYS (server certificate validity, default 825), PKI_CA_DAYS (default 3650), PKI_CRL_DAYS (default 30).
set -euo pipefail

PKI_DAYS=${PKI_DAYS:-825}
PKI_CA_DAYS=${PKI_CA_DAYS:-3650}
PKI_CRL_DAYS=${PKI_CRL_DAYS:-30}

die() { echo "ops/pki.sh: $*" >&2; exit 1; }

# An EC P-256 private key, owner-only from the moment it exists.
new_key() {
  (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1")
  chmod 600 "$1"
}

# A self-signed CA certificate: $1 key, $2 certificate, $3 subject.
new_ca_cert() {
  openssl req -new -x509 -key "$1" -out "$2" -days "$PKI_CA_DAYS" -subj "$3" -sha256 \
    -addext 'basicConstraints=critical,CA:TRUE,pathlen:0' \
    -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
}

valid_name() { [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]] || die "bad CA name '$1' (letters, digits, - and _)"; }

# The server certificate's subjectAltName: localhost and 127.0.0.1, then each extra name given (DNS name or IP address).
server_names() {
  local names='DNS:localhost,IP:127.0.0.1' name
  for name in "$@"; do
    if [[ $name =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ || $name =~ ^[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*$ ]]; then names+=",IP:$name"
    elif [[ $name =~ ^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$ ]]; then names+=",DNS:$name"
    else die "bad server name '$name' (a DNS name or an IP address)"
    fi
  done
  echo "$names"
}

cmd_server() {
  local dir=$1 names; shift
  names=$(server_names "$@")
  mkdir -p "$dir/crl"
  [ -e "$dir/ca.key" ] || new_key "$dir/ca.key"
  [ -e "$dir/ca.crt" ] || new_ca_cert "$dir/ca.key" "$dir/ca.crt" "/O=Decommission/CN=Decommission broker CA"
  new_key "$dir/server.key"
  local csr; csr=$(mktemp)
  openssl req -new -key "$dir/server.key" -out "$csr" -subj "/O=Decommission/CN=localhost" 2>/dev/null
  printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \
    'extendedKeyUsage=serverAuth' "subjectAltName=$names" >"$csr.ext"
  openssl x509 -req -in "$csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -out "$dir/server.crt" \
    -days "$PKI_DAYS" -sha256 -extfile "$csr.ext" 2>/dev/null
  rm -f "$csr" "$csr.ext"
  touch "$dir/client-cas.pem"
}

# The openssl ca database of CA NAME: what its CRL lists.
ca_config() {
  local dir=$1 name=$2 db=$1/$2.ca
  cat <<EOF
[ ca ]
default_ca = this
[ this ]
database         = $db/index.txt
crlnumber        = $db/crlnumber
certificate      = $dir/$name.crt
private_key      = $dir/$name.key
default_md       = sha256
default_crl_days = $PKI_CRL_DAYS
crl_extensions   = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
EOF
}

# Writes CA NAME's CRL into crl/ and re-hashes the directory; $3 a certificate to list first (optional).
issue_crl() {
  local dir=$1 name=$2 cert=${3:-} config
  config=$(mktemp)
  ca_config "$dir" "$name" >"$config"
  [ -z "$cert" ] || openssl ca -config "$config" -revoke "$cert" -crl_reason keyCompromise 2>/dev/null ||
    { rm -f "$config"; die "could not revoke $cert with CA $name"; }
  # Written beside, then renamed: a handshake never reads half a CRL.
  openssl ca -config "$config" -gencrl -out "$dir/crl/.$name.crl.pem" 2>/dev/null ||
    { rm -f "$config"; die "could not issue the CRL of CA $name"; }
  rm -f "$config"
  mv -f "$dir/crl/.$name.crl.pem" "$dir/crl/$name.crl.pem"
  hash_crls "$dir/crl" "$name.crl.pem"
}

# The broker finds a CA's CRL by the hash link `openssl rehash` makes. A new CRL of the same CA keeps its file name and
# hash, so its link stays: rehashing again would remove and remake every link, and a handshake in between would find no
# CRL and be refused.
hash_crls() {
  [ -n "$(find "$1" -maxdepth 1 -type l -lname "$2")" ] || openssl rehash "$1" >/dev/null
}

cmd_ca() {
  local dir=$1 name=$2
  valid_name "$name"
  [ -f "$dir/client-cas.pem" ] || die "$dir has no broker PKI: run ops/pki.sh server $dir first"
  [ ! -e "$dir/$name.crt" ] || die "CA $name already exists in $dir"
  new_key "$dir/$name.key"
  new_ca_cert "$dir/$name.key" "$dir/$name.crt" "/O=Decommission/CN=$name"
  mkdir -p "$dir/$name.ca"
  : >"$dir/$name.ca/index.txt"
  echo 01 >"$dir/$name.ca/crlnumber"
  issue_crl "$dir" "$name"
  cat "$dir/$name.crt" >>"$dir/client-cas.pem"
}

cmd_trust() {
  local dir=$1 cert=$2 crl=$3 hash
  [ -f "$dir/client-cas.pem" ] || die "$dir has no broker PKI: run ops/pki.sh server $dir first"
  openssl x509 -in "$cert" -noout 2>/dev/null || die "$cert is not a PEM certificate"
  openssl crl -in "$crl" -CAfile "$cert" -noout 2>/dev/null || die "$crl is not a PEM CRL signed by $cert"
  hash=$(openssl x509 -in "$cert" -noout -hash)
  cp "$crl" "$dir/crl/.trusted-$hash.crl.pem"
  mv -f "$dir/crl/.trusted-$hash.crl.pem" "$dir/crl/trusted-$hash.crl.pem"
  hash_crls "$dir/crl" "trusted-$hash.crl.pem"
  cat "$cert" >>"$dir/client-cas.pem"
}

main() {
  [ $# -ge 2 ] || die "usage: ops/pki.sh server|ca|trust|revoke|crl DIR ... (see the top of this file)"
  local command=$1 dir=$2; shift 2
  mkdir -p "$dir"
  # One change at a time: tests revoke in parallel, and openssl ca rewrites its database in place.
  exec 9>"$dir/.lock"
  flock 9
  case $command in
    server) cmd_server "$dir" "$@" ;;
    ca)     [ $# -eq 1 ] || die "usage: ops/pki.sh ca DIR NAME"; cmd_ca "$dir" "$1" ;;
    trust)  [ $# -eq 2 ] || die "usage: ops/pki.sh trust DIR CERT CRL"; cmd_trust "$dir" "$1" "$2" ;;
    revoke) [ $# -eq 2 ] || die "usage: ops/pki.sh revoke DIR NAME CERT"; valid_name "$1"; issue_crl "$dir" "$1" "$2" ;;
    crl)    [ $# -eq 1 ] || die "usage: ops/pki.sh crl DIR NAME"; valid_name "$1"; issue_crl "$dir" "$1" ;;
    *) die "unknown command '$command'" ;;
  esac
}

main "$@"
