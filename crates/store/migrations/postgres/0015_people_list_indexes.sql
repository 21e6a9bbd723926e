-- Issue 10 item 2: every documented people filter, alone or beside another, with every documented
-- sort, answers a page from an index walked in the page's order: the filter column, then the sort
-- key and id (the keyset cursor), so a page reads its rows and stops instead of sorting every
-- match. Live people only (lists never show deleted ones; sync listings use customers_change_idx),
-- which keeps the indexes small. company_id and email are selective enough for their own indexes,
-- and a tag is checked per row through customer_tags' key. (lifecycle_stage) alone is served by
-- these and by customers_lead_status_idx. The lead list (lifecycle_stage=lead&lead_status=…) has
-- its pair: a lead's status moves with its updates, so walking the leads by update time and
-- skipping the other statuses read 167,000 rows for a page at a million people.
DROP INDEX customers_stage_idx;
CREATE INDEX customers_stage_name_idx ON customers (lifecycle_stage, sort_name, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_stage_created_idx ON customers (lifecycle_stage, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_stage_updated_idx ON customers (lifecycle_stage, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_stage_id_idx ON customers (lifecycle_stage, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_lead_status_name_idx ON customers (lead_status, sort_name, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_lead_status_created_idx ON customers (lead_status, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_lead_status_updated_idx ON customers (lead_status, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_lead_status_id_idx ON customers (lead_status, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_owner_name_idx ON customers (owner_id, sort_name, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_owner_created_idx ON customers (owner_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_owner_updated_idx ON customers (owner_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_owner_id_idx ON customers (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_rfm_tier_name_idx ON customers (rfm_tier, sort_name, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_rfm_tier_created_idx ON customers (rfm_tier, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_rfm_tier_updated_idx ON customers (rfm_tier, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_rfm_tier_id_idx ON customers (rfm_tier, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_segment_name_idx ON customers (segment, sort_name, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_segment_created_idx ON customers (segment, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_segment_updated_idx ON customers (segment, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_segment_id_idx ON customers (segment, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_lead_list_name_idx ON customers (lifecycle_stage, lead_status, sort_name, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_lead_list_created_idx ON customers (lifecycle_stage, lead_status, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_lead_list_updated_idx ON customers (lifecycle_stage, lead_status, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_lead_list_id_idx ON customers (lifecycle_stage, lead_status, id) WHERE deleted_at IS NULL;
