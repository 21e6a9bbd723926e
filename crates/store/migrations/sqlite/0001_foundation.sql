-- Foundation: users and their tokens, people, companies, custom fields, audit log.
-- Conventions shared with the PostgreSQL twin: INTEGER ids, TEXT RFC 3339 UTC timestamps,
-- INTEGER 0/1 flags, JSON stored as TEXT, soft deletes through deleted_at.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    is_active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE auth_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE UNIQUE INDEX auth_tokens_hash_key ON auth_tokens (token_hash);

CREATE TABLE companies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    domain TEXT,
    email TEXT,
    phone TEXT,
    industry TEXT,
    address_street TEXT,
    address_city TEXT,
    address_region TEXT,
    address_postal_code TEXT,
    address_country TEXT,
    owner_id INTEGER REFERENCES users (id),
    tags TEXT NOT NULL DEFAULT '[]',
    notes TEXT,
    custom TEXT NOT NULL DEFAULT '{}',
    search_text TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX companies_domain_key ON companies (domain) WHERE deleted_at IS NULL;
CREATE INDEX companies_sort_name_idx ON companies (sort_name, id);
CREATE INDEX companies_updated_idx ON companies (updated_at, id);
CREATE INDEX companies_created_idx ON companies (created_at, id);
CREATE INDEX companies_owner_idx ON companies (owner_id);

CREATE TABLE company_tags (
    tag TEXT NOT NULL,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    PRIMARY KEY (tag, company_id)
);
CREATE INDEX company_tags_company_idx ON company_tags (company_id);

CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    email TEXT,
    additional_emails TEXT NOT NULL DEFAULT '[]',
    phone TEXT,
    additional_phones TEXT NOT NULL DEFAULT '[]',
    address_street TEXT,
    address_city TEXT,
    address_region TEXT,
    address_postal_code TEXT,
    address_country TEXT,
    company_id INTEGER REFERENCES companies (id),
    lifecycle_stage TEXT NOT NULL,
    source TEXT,
    owner_id INTEGER REFERENCES users (id),
    tags TEXT NOT NULL DEFAULT '[]',
    needs TEXT,
    notes TEXT,
    custom TEXT NOT NULL DEFAULT '{}',
    search_text TEXT NOT NULL DEFAULT '',
    company_text TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX customers_email_key ON customers (email) WHERE deleted_at IS NULL;
CREATE INDEX customers_sort_name_idx ON customers (sort_name, id);
CREATE INDEX customers_updated_idx ON customers (updated_at, id);
CREATE INDEX customers_created_idx ON customers (created_at, id);
CREATE INDEX customers_owner_idx ON customers (owner_id);
CREATE INDEX customers_company_idx ON customers (company_id);
CREATE INDEX customers_stage_idx ON customers (lifecycle_stage);

CREATE TABLE customer_tags (
    tag TEXT NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    PRIMARY KEY (tag, customer_id)
);
CREATE INDEX customer_tags_customer_idx ON customer_tags (customer_id);

CREATE TABLE custom_fields (
    id INTEGER PRIMARY KEY,
    object TEXT NOT NULL,
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    field_type TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX custom_fields_key ON custom_fields (object, key);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor_id INTEGER,
    request_id TEXT,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    record_id INTEGER,
    diff TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_record_idx ON audit_log (object, record_id);

-- Full-text search over the folded text the domain computes (see domain::text).
CREATE VIRTUAL TABLE customers_fts USING fts5 (
    search_text, company_text,
    content = 'customers', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_fts (rowid, search_text, company_text) VALUES (new.id, new.search_text, new.company_text);
END;
CREATE TRIGGER customers_fts_update AFTER UPDATE OF search_text, company_text ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, search_text, company_text) VALUES ('delete', old.id, old.search_text, old.company_text);
    INSERT INTO customers_fts (rowid, search_text, company_text) VALUES (new.id, new.search_text, new.company_text);
END;
CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, search_text, company_text) VALUES ('delete', old.id, old.search_text, old.company_text);
END;

CREATE VIRTUAL TABLE companies_fts USING fts5 (
    search_text,
    content = 'companies', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
CREATE TRIGGER companies_fts_insert AFTER INSERT ON companies BEGIN
    INSERT INTO companies_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER companies_fts_update AFTER UPDATE OF search_text ON companies BEGIN
    INSERT INTO companies_fts (companies_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO companies_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER companies_fts_delete AFTER DELETE ON companies BEGIN
    INSERT INTO companies_fts (companies_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
