-- The end-of-life scheduler's batches are campaigns: a claim remembers its campaign, so a claim left unsent is sent again
-- as the same campaign (the orchestrator keeps the first it stored).
ALTER TABLE devices ADD COLUMN eol_campaign_id TEXT NULL;
