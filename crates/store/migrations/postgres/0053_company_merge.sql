-- Issue 13 §5: merging duplicate companies. The loser stays as a tombstone (`deleted_at` set)
-- naming the company it was merged into, so reads of the old id point to the survivor and
-- syncing clients follow it.
ALTER TABLE companies ADD COLUMN merged_into BIGINT;
CREATE INDEX companies_merged_into_idx ON companies (merged_into) WHERE merged_into IS NOT NULL;
