-- Email uniqueness and equality lookups move to a blind index, so the email column itself can
-- hold ciphertext. Without a key the "index" is the normalized email.
ALTER TABLE customers ADD COLUMN email_hash TEXT;
UPDATE customers SET email_hash = email;
DROP INDEX customers_email_key;
CREATE UNIQUE INDEX customers_email_hash_key ON customers (email_hash) WHERE deleted_at IS NULL;
