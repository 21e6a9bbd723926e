-- Issue 13 §5: merging duplicate people. The loser of a merge stays as a tombstone
-- (`deleted_at` set) that names the person it was merged into, so reads of the old id point
-- to the survivor and syncing clients follow it.
ALTER TABLE customers ADD COLUMN merged_into INTEGER;
CREATE INDEX customers_merged_into_idx ON customers (merged_into) WHERE merged_into IS NOT NULL;
