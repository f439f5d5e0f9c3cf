-- The broker's part of a device's quarantine (its user narrowed to the decommission topics, its connections closed) is
-- done once across replicas: one claims it (broker_quarantine_claimed_at; a claim older than two minutes is taken over:
-- its replica is gone), and when it is done (broker_quarantined_at) a repeated order (a re-drive, a redelivery, another
-- replica's copy) finds it enforced and does not close the device's connection again.
ALTER TABLE devices ADD COLUMN broker_quarantine_claimed_at TEXT NULL;
ALTER TABLE devices ADD COLUMN broker_quarantined_at TEXT NULL;
