-- Refusals arrive where receipts do and are kept beside them, with their verdict; the type says which a row holds.
ALTER TABLE receipts ADD COLUMN message_type TEXT NOT NULL DEFAULT 'decommission.wipe-receipt';
-- erase_commands.status gains 'Refused': the device refused the command in a refusal that verified (receipt_sha256 is its hash).
