-- Retirements the inventory admitted (RetirementAccepted): credentials quarantines and revokes only inside one of these,
-- so an order from the orchestrator's credential alone touches no device the inventory did not hand over.
CREATE TABLE admitted_retirements (
    retirement_id TEXT NOT NULL PRIMARY KEY,
    device_id     TEXT NOT NULL,
    admitted_at   TEXT NOT NULL
);
