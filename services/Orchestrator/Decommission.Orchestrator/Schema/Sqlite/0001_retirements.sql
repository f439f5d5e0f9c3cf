-- One row per retirement: queryable columns beside the full saga state as JSON.
CREATE TABLE retirements (
    correlation_id TEXT    NOT NULL PRIMARY KEY,
    current_state  TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    device_id      TEXT    NOT NULL,
    deadline_ms    INTEGER NULL,      -- unix milliseconds, UTC; the sweeper's work list
    updated_at     TEXT    NOT NULL,
    data           TEXT    NOT NULL
);

-- At most one open retirement per device: the store refuses a second one even when two requests race.
CREATE UNIQUE INDEX ux_retirements_open_device ON retirements (device_id)
    WHERE current_state NOT IN ('Completed', 'Refused', 'Cancelled');

CREATE INDEX ix_retirements_deadline ON retirements (deadline_ms) WHERE deadline_ms IS NOT NULL;
CREATE INDEX ix_retirements_device ON retirements (device_id, updated_at);
CREATE INDEX ix_retirements_state ON retirements (current_state);

-- Who did what, when: appended in the same transaction as the state it describes, never changed.
CREATE TABLE audit_trail (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    retirement_id TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    from_state    TEXT NOT NULL,
    to_state      TEXT NOT NULL,
    event         TEXT NOT NULL,
    actor         TEXT NOT NULL,
    detail        TEXT NOT NULL,
    at            TEXT NOT NULL
);
CREATE INDEX ix_audit_trail_retirement ON audit_trail (retirement_id, id);

CREATE TRIGGER audit_trail_no_update BEFORE UPDATE ON audit_trail
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_trail_no_delete BEFORE DELETE ON audit_trail
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
