-- One certificate per retirement; the bytes live on disk, named here with their SHA-256.
CREATE TABLE certificates (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,   -- the paging cursor
    certificate_id    TEXT    NOT NULL UNIQUE,
    retirement_id     TEXT    NOT NULL UNIQUE,
    device_id         TEXT    NOT NULL,
    sanitization_type TEXT    NOT NULL,
    issued_at         TEXT    NOT NULL,
    issued_at_ms      INTEGER NOT NULL,
    pdf_sha256        TEXT    NOT NULL,
    pdf_path          TEXT    NOT NULL,
    json_path         TEXT    NOT NULL
);
CREATE INDEX ix_certificates_device ON certificates (device_id, seq);
CREATE INDEX ix_certificates_issued ON certificates (issued_at_ms, seq);
CREATE INDEX ix_certificates_sha256 ON certificates (pdf_sha256);

-- API keys: only a SHA-256 of the secret part is kept.
CREATE TABLE api_keys (
    key_id     TEXT NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,            -- auditor, operator
    secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT NULL
);

-- Who downloaded or verified what, when.
CREATE TABLE access_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             TEXT NOT NULL,
    key_name       TEXT NOT NULL,
    role           TEXT NOT NULL,
    action         TEXT NOT NULL,
    certificate_id TEXT NULL,
    outcome        TEXT NOT NULL
);
