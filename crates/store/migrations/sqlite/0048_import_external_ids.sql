-- Issue 13 §2: opportunities and tickets come from other CRMs and help desks too; an import or a
-- batch upserts them by the id they had there, so running the same file twice creates nothing
-- twice. Unique among live records, like people's and companies' (0036).
ALTER TABLE opportunities ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX opportunities_external_id_key ON opportunities (external_id) WHERE deleted_at IS NULL;
ALTER TABLE tickets ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX tickets_external_id_key ON tickets (external_id) WHERE deleted_at IS NULL;
