-- The PostgreSQL twin of Schema/Sqlite/0001_certificates.sql. One certificate per retirement. Replicas share this schema, so the
-- PDF and its JSON twin live here too (certificate_documents), written in the certificate row's transaction: a certificate
-- appears whole, at once, and every replica serves it. pdf_path and json_path name SQLite's files; NULL here.
CREATE TABLE certificates (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,   -- the paging cursor
    certificate_id    TEXT   NOT NULL UNIQUE,
    retirement_id     TEXT   NOT NULL UNIQUE,
    device_id         TEXT   NOT NULL,
    sanitization_type TEXT   NOT NULL,
    issued_at         TEXT   NOT NULL,
    issued_at_ms      BIGINT NOT NULL,
    pdf_sha256        TEXT   NOT NULL,
    pdf_path          TEXT   NULL,
    json_path         TEXT   NULL
);
CREATE INDEX ix_certificates_device ON certificates (device_id, seq);
CREATE INDEX ix_certificates_issued ON certificates (issued_at_ms, seq);
CREATE INDEX ix_certificates_sha256 ON certificates (pdf_sha256);

-- The bytes auditors download, byte for byte as signed.
CREATE TABLE certificate_documents (
    certificate_id TEXT  NOT NULL PRIMARY KEY REFERENCES certificates (certificate_id),
    pdf_bytes      BYTEA NOT NULL,
    json_bytes     BYTEA NOT NULL
);

-- API keys: only a SHA-256 of the secret part is kept.
CREATE TABLE api_keys (
    key_id        TEXT NOT NULL PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,            -- auditor, operator
    secret_sha256 TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT NULL
);

-- Who downloaded or verified what, when.
CREATE TABLE access_log (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             TEXT NOT NULL,
    key_name       TEXT NOT NULL,
    role           TEXT NOT NULL,
    action         TEXT NOT NULL,
    certificate_id TEXT NULL,
    outcome        TEXT NOT NULL
);
