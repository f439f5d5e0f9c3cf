-- When the broker last enforced the device's quarantine (its user narrowed to the decommission topics, its connections
-- closed): a repeated order (a re-drive, a redelivery) finds it done and does not close the device's connection again.
ALTER TABLE devices ADD COLUMN broker_quarantined_at TEXT NULL;
