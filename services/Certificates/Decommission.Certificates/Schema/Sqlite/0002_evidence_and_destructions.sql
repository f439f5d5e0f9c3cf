-- The erase command a Purge certificate rests on: one certificate per command, whatever retirement presents it again.
ALTER TABLE certificates ADD COLUMN erase_command_id TEXT NULL;
CREATE UNIQUE INDEX ux_certificates_erase_command ON certificates (erase_command_id) WHERE erase_command_id IS NOT NULL;

-- Physical destructions: recorded by one authenticated person (an API key), witnessed by another.
CREATE TABLE destruction_records (
    record_id          TEXT NOT NULL PRIMARY KEY,
    retirement_id      TEXT NOT NULL,
    device_id          TEXT NOT NULL,
    method             TEXT NOT NULL,
    location           TEXT NOT NULL,
    destroyed_at       TEXT NOT NULL,
    performed_by       TEXT NOT NULL,   -- the recording API key's name
    performed_by_key   TEXT NOT NULL,   -- and its key id
    recorded_at        TEXT NOT NULL,
    witness            TEXT NULL,
    witness_key        TEXT NULL,
    witnessed_at       TEXT NULL
);
CREATE INDEX ix_destruction_records_retirement ON destruction_records (retirement_id, device_id);
