-- PostgreSQL twin of Schema/Sqlite/0003_campaigns.sql: the same tables, columns and indexes.
CREATE TABLE campaigns (
    campaign_id      TEXT    NOT NULL PRIMARY KEY,
    name             TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    settings         TEXT    NOT NULL,
    requested_by     TEXT    NOT NULL,
    requested_by_key TEXT    NOT NULL,
    approved_by      TEXT    NULL,
    end_reason       TEXT    NULL,
    next_start_ms    BIGINT  NULL,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
);
CREATE INDEX ix_campaigns_state ON campaigns (state);

CREATE TABLE campaign_devices (
    campaign_id   TEXT    NOT NULL,
    position      INTEGER NOT NULL,
    device_id     TEXT    NOT NULL,
    retirement_id TEXT    NOT NULL,
    started_at_ms BIGINT  NULL,
    sent_at_ms    BIGINT  NULL,
    PRIMARY KEY (campaign_id, position)
);
CREATE UNIQUE INDEX ux_campaign_devices_device ON campaign_devices (campaign_id, device_id);
CREATE INDEX ix_campaign_devices_retirement ON campaign_devices (retirement_id);

CREATE TABLE campaign_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    event       TEXT NOT NULL,
    actor       TEXT NOT NULL,
    detail      TEXT NOT NULL,
    at_ms       BIGINT NOT NULL
);
CREATE INDEX ix_campaign_events_campaign ON campaign_events (campaign_id, id);

CREATE FUNCTION campaign_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the campaign trail is append-only';
END;
$$;
CREATE TRIGGER campaign_events_no_update BEFORE UPDATE ON campaign_events FOR EACH ROW EXECUTE FUNCTION campaign_events_append_only();
CREATE TRIGGER campaign_events_no_delete BEFORE DELETE ON campaign_events FOR EACH ROW EXECUTE FUNCTION campaign_events_append_only();
CREATE TRIGGER campaign_events_no_truncate BEFORE TRUNCATE ON campaign_events FOR EACH STATEMENT EXECUTE FUNCTION campaign_events_append_only();
