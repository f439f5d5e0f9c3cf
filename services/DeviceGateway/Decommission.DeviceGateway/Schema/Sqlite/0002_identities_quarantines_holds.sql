-- The fleet-CA identity certificate over each attestation key (DER): the evidence a certificate carries.
ALTER TABLE attestation_keys ADD COLUMN identity_certificate BLOB NULL;

-- Quarantines the credentials service announced: the gateway erases a device only inside a retirement past quarantine.
CREATE TABLE quarantines (
    retirement_id  TEXT NOT NULL PRIMARY KEY,
    device_id      TEXT NOT NULL,
    quarantined_at TEXT NOT NULL
);

-- Legal holds the inventory announced: a held device is never erased.
CREATE TABLE legal_holds (
    device_id  TEXT NOT NULL PRIMARY KEY,
    held       INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
