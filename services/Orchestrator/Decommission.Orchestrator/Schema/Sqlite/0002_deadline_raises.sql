-- The deadline sweeper's claim (every replica sweeps): which deadline was last raised, and when. A sweep raises a due
-- deadline only after claiming it with a conditional UPDATE of these columns, so a due deadline fires once across
-- replicas and again only after ReraiseAfter. The saga's own writes never touch them.
ALTER TABLE retirements ADD COLUMN raised_deadline_ms INTEGER NULL;
ALTER TABLE retirements ADD COLUMN raised_at_ms INTEGER NULL;
