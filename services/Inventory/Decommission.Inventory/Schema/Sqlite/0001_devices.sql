CREATE TABLE devices (
    device_id        TEXT    NOT NULL PRIMARY KEY,
    manufacturer     TEXT    NOT NULL,
    model            TEXT    NOT NULL,
    serial_number    TEXT    NOT NULL,
    asset_number     TEXT    NOT NULL,
    media_type       TEXT    NOT NULL,
    owner            TEXT    NOT NULL,
    site             TEXT    NOT NULL,
    network_segment  TEXT    NOT NULL,
    end_of_life      INTEGER NULL,         -- days since 0001-01-01 (DateOnly.DayNumber)
    legal_hold       INTEGER NOT NULL DEFAULT 0,
    hold_reason      TEXT    NOT NULL DEFAULT '',
    status           TEXT    NOT NULL DEFAULT 'Active',   -- Active, Retiring, Disposed, Failed
    retirement_id    TEXT    NULL,
    eol_claimed_at   TEXT    NULL,         -- the scheduler claimed the device for its end-of-life retirement
    eol_claimed_by   TEXT    NULL,
    eol_sent_at      TEXT    NULL,         -- ... and sent RetireDevice
    updated_at       TEXT    NOT NULL
);

-- The scheduler's scan: only devices it could still retire are in the index, so a large inventory stays fast.
CREATE INDEX ix_devices_end_of_life_due ON devices (end_of_life)
    WHERE status = 'Active' AND legal_hold = 0 AND eol_claimed_at IS NULL AND end_of_life IS NOT NULL;

-- Claimed but not yet sent (a crash in between): sent again on the next scan.
CREATE INDEX ix_devices_end_of_life_unsent ON devices (eol_claimed_at) WHERE eol_claimed_at IS NOT NULL AND eol_sent_at IS NULL;
