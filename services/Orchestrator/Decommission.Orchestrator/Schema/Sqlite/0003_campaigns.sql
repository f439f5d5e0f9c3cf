-- Campaigns: bulk retirements with a pace and abort criteria. One row per campaign (its settings as JSON beside the
-- columns the driver works with), one row per device (claimed when started, marked when its RetireDevice was sent),
-- and the campaign's own audit trail, append-only like the retirements'.
CREATE TABLE campaigns (
    campaign_id      TEXT    NOT NULL PRIMARY KEY,
    name             TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    settings         TEXT    NOT NULL,      -- StartCampaign as JSON (pace, ramp, abort criteria, reason, who asked)
    requested_by     TEXT    NOT NULL,
    requested_by_key TEXT    NOT NULL,
    approved_by      TEXT    NULL,
    end_reason       TEXT    NULL,
    next_start_ms    INTEGER NULL,          -- unix milliseconds: the earliest the next device may start (the pace)
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
);
CREATE INDEX ix_campaigns_state ON campaigns (state);

CREATE TABLE campaign_devices (
    campaign_id   TEXT    NOT NULL,
    position      INTEGER NOT NULL,
    device_id     TEXT    NOT NULL,
    retirement_id TEXT    NOT NULL,         -- the message id of its RetireDevice: the retirement it starts
    started_at_ms INTEGER NULL,             -- claimed by the driver (the pace counts these)
    sent_at_ms    INTEGER NULL,             -- its RetireDevice confirmed by the broker
    PRIMARY KEY (campaign_id, position)
);
CREATE UNIQUE INDEX ux_campaign_devices_device ON campaign_devices (campaign_id, device_id);
CREATE INDEX ix_campaign_devices_retirement ON campaign_devices (retirement_id);

CREATE TABLE campaign_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id TEXT NOT NULL,
    event       TEXT NOT NULL,
    actor       TEXT NOT NULL,
    detail      TEXT NOT NULL,
    at_ms       INTEGER NOT NULL
);
CREATE INDEX ix_campaign_events_campaign ON campaign_events (campaign_id, id);

CREATE TRIGGER campaign_events_no_update BEFORE UPDATE ON campaign_events
BEGIN SELECT RAISE(ABORT, 'the campaign trail is append-only'); END;
CREATE TRIGGER campaign_events_no_delete BEFORE DELETE ON campaign_events
BEGIN SELECT RAISE(ABORT, 'the campaign trail is append-only'); END;
