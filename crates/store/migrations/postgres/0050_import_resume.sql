-- Issue 13: an import job killed with its server is taken up again by the next one. The job
-- keeps its options and the path of its uploaded file; each chunk it writes leaves its outcome
-- under an idempotency key in the chunk's own transaction, so a resumed job replays the chunks
-- already written instead of writing them twice.
ALTER TABLE imports ADD COLUMN options TEXT;
ALTER TABLE imports ADD COLUMN spool_path TEXT;
