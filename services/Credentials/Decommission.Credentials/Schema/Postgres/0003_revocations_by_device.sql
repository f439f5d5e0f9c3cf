-- Enrollment asks whether a device id was retired (its identity revoked) before it enrolls one: a retired id never enrolls again.
CREATE INDEX ix_revocations_device ON revocations (device_id);
