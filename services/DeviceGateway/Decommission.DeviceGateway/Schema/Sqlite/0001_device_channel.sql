-- Each device's attestation public key: receipts must be signed by it.
CREATE TABLE attestation_keys (
    device_id     TEXT NOT NULL PRIMARY KEY,
    public_key    BLOB NOT NULL,      -- SubjectPublicKeyInfo (DER)
    key_id        TEXT NOT NULL,      -- SHA-256 of public_key, hex
    registered_by TEXT NOT NULL,
    registered_at TEXT NOT NULL
);

-- Every erase command issued; re-sending an attempt re-sends the same signed command (same nonce).
CREATE TABLE erase_commands (
    command_id      TEXT    NOT NULL PRIMARY KEY,
    retirement_id   TEXT    NOT NULL,
    device_id       TEXT    NOT NULL,
    body            TEXT    NOT NULL,   -- the signed command as sent
    nonce           TEXT    NOT NULL,
    issued_at_ms    INTEGER NOT NULL,
    expires_at_ms   INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    status          TEXT    NOT NULL,   -- Pending, Verified
    receipt_sha256  TEXT    NULL,       -- the receipt that verified it
    updated_at      TEXT    NOT NULL
);
CREATE INDEX ix_erase_commands_device ON erase_commands (device_id, status);

-- Every receipt received, with the verdict: nothing a device sends is lost.
CREATE TABLE receipts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256        TEXT NOT NULL,
    command_id    TEXT NULL,
    device_id     TEXT NULL,
    retirement_id TEXT NULL,
    verdict       TEXT NOT NULL,        -- Verified, Rejected, Duplicate
    reason        TEXT NOT NULL,
    detail        TEXT NOT NULL,
    body          BLOB NOT NULL,
    received_at   TEXT NOT NULL
);
CREATE INDEX ix_receipts_sha256 ON receipts (sha256);
