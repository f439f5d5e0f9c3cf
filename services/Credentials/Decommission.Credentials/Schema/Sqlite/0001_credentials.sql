-- Enrolled devices: the identity certificate certifies the device's attestation key.
CREATE TABLE devices (
    device_id              TEXT NOT NULL PRIMARY KEY,
    attestation_public_key BLOB NOT NULL,
    identity_serial        TEXT NOT NULL UNIQUE,
    identity_certificate   BLOB NOT NULL,      -- DER
    network_segment        TEXT NOT NULL,
    enrolled_segment       TEXT NOT NULL,
    enrolled_by            TEXT NOT NULL,
    enrolled_at            TEXT NOT NULL,
    quarantined_at         TEXT NULL,
    quarantined_for        TEXT NULL            -- retirement id
);

-- Operational secrets, only ever as salted KDF hashes; revoking destroys the hash so it can never validate again.
CREATE TABLE credentials (
    credential_id  TEXT NOT NULL PRIMARY KEY,
    device_id      TEXT NOT NULL REFERENCES devices (device_id),
    kind           TEXT NOT NULL,
    hash           TEXT NULL,
    created_at     TEXT NOT NULL,
    revoked_at     TEXT NULL,
    revoked_for    TEXT NULL                     -- retirement id
);
CREATE INDEX ix_credentials_device ON credentials (device_id);

-- Revoked identity certificates; every CRL lists all of them.
CREATE TABLE revocations (
    serial        TEXT    NOT NULL PRIMARY KEY,
    device_id     TEXT    NOT NULL,
    retirement_id TEXT    NOT NULL,
    revoked_at    TEXT    NOT NULL,
    crl_number    INTEGER NOT NULL
);

-- Every CRL issued, numbered; the newest is served at GET /crl.
CREATE TABLE crls (
    number    INTEGER NOT NULL PRIMARY KEY,
    issued_at TEXT    NOT NULL,
    der       BLOB    NOT NULL
);
