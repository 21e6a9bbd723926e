-- Issue 13 §2: orders come from shops and ERPs with the numbers they had there; an import or a
-- batch upserts them by that number, so the same order file twice creates nothing twice.
ALTER TABLE orders ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX orders_external_id_key ON orders (external_id) WHERE deleted_at IS NULL;
