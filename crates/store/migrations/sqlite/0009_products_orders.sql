-- Products and orders (issue 9, section 3): orders replace purchases as the one source of
-- purchase history.
--
-- products: the catalogue, on the shared record machinery (unique live SKU, full-text search).
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    description TEXT,
    unit_price_minor INTEGER NOT NULL DEFAULT 0,
    currency TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    search_text TEXT NOT NULL DEFAULT '',
    private_text TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    change_seq INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX products_sku_key ON products (sku) WHERE deleted_at IS NULL;
CREATE INDEX products_sort_name_idx ON products (sort_name, id);
CREATE INDEX products_updated_idx ON products (updated_at, id);
CREATE INDEX products_created_idx ON products (created_at, id);
CREATE INDEX products_change_idx ON products (change_seq, id);
CREATE INDEX products_reindex_idx ON products (id) WHERE private_text IS NULL;
CREATE INDEX products_sku_idx ON products ((COALESCE(sku, '')), id);
CREATE INDEX products_price_idx ON products ((COALESCE(unit_price_minor, -9223372036854775807)), id);
CREATE INDEX products_currency_idx ON products (currency);

CREATE VIRTUAL TABLE products_fts USING fts5 (
    search_text, private_text,
    content = 'products', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_fts (rowid, search_text, private_text) VALUES (new.id, new.search_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER products_fts_update AFTER UPDATE OF search_text, private_text ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, search_text, private_text)
    VALUES ('delete', old.id, old.search_text, coalesce(old.private_text, ''));
    INSERT INTO products_fts (rowid, search_text, private_text) VALUES (new.id, new.search_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, search_text, private_text)
    VALUES ('delete', old.id, old.search_text, coalesce(old.private_text, ''));
END;

-- orders: owned records. `lines` (JSON) is the order as the API reads it, `totals` (JSON) and
-- `total_minor` are computed from it when the order is written. opportunity_id and
-- campaign_id carry no foreign key: opportunities come in a later migration on new databases.
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    order_date TEXT,
    sort_name TEXT NOT NULL,
    customer_id INTEGER REFERENCES customers (id),
    company_id INTEGER REFERENCES companies (id),
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    owner_id INTEGER REFERENCES users (id),
    opportunity_id INTEGER,
    campaign_id INTEGER,
    tax_rate_bp INTEGER NOT NULL DEFAULT 0,
    lines TEXT NOT NULL DEFAULT '[]',
    notes TEXT,
    confirmed_at TEXT,
    paid_at TEXT,
    shipped_at TEXT,
    cancelled_at TEXT,
    totals TEXT NOT NULL DEFAULT '{}',
    total_minor INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    change_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX orders_sort_name_idx ON orders (sort_name, id);
CREATE INDEX orders_updated_idx ON orders (updated_at, id);
CREATE INDEX orders_created_idx ON orders (created_at, id);
CREATE INDEX orders_change_idx ON orders (change_seq, id);
CREATE INDEX orders_owner_idx ON orders (owner_id);
CREATE INDEX orders_customer_idx ON orders (customer_id, status);
CREATE INDEX orders_company_idx ON orders (company_id);
CREATE INDEX orders_opportunity_idx ON orders (opportunity_id);
CREATE INDEX orders_campaign_idx ON orders (campaign_id);
CREATE INDEX orders_status_idx ON orders (status);
CREATE INDEX orders_date_idx ON orders ((COALESCE(order_date, '')), id);
CREATE INDEX orders_paid_at_idx ON orders ((COALESCE(paid_at, '')), id);
CREATE INDEX orders_confirmed_at_idx ON orders ((COALESCE(confirmed_at, '')), id);
CREATE INDEX orders_total_idx ON orders ((COALESCE(total_minor, -9223372036854775807)), id);

-- order_lines mirrors each order's `lines`, one row per line with its net amount, rewritten in
-- the transaction of every order write: purchase history and analytics read paid lines here
-- with plain SQL on either engine.
CREATE TABLE order_lines (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders (id),
    position INTEGER NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products (id),
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_minor INTEGER NOT NULL,
    discount_bp INTEGER NOT NULL DEFAULT 0,
    discount_minor INTEGER NOT NULL DEFAULT 0,
    net_minor INTEGER NOT NULL
);
CREATE INDEX order_lines_order_idx ON order_lines (order_id, position);
CREATE INDEX order_lines_product_idx ON order_lines (product_id);

-- Existing purchase rows become orders: a product per distinct product name and currency (SKU
-- MIGRATED-<first row id>, priced at its latest line's unit price), one paid order per
-- person, invoice and currency, dated and paid at its first line's time, owned as the person
-- is, and a line per row priced so that its net is the row's amount exactly (the unit price
-- rounded up, the remainder as a fixed discount). Returns (rows with a negative amount or a
-- quantity below one) are not sales an order can hold: they are dropped with the table.
-- The products' search words are computed by the store after migrating (private_text NULL).
INSERT INTO products (sku, name, sort_name, description, unit_price_minor, currency, active, search_text, private_text, created_at, updated_at, change_seq)
SELECT 'MIGRATED-' || MIN(p.id), p.product, lower(p.product), NULL,
       (SELECT (l.amount_minor + l.quantity - 1) / l.quantity FROM purchases l
         WHERE l.product = p.product AND l.currency = p.currency AND l.quantity >= 1 AND l.amount_minor >= 0
         ORDER BY l.purchased_at DESC, l.id DESC LIMIT 1),
       p.currency, 1, '', NULL,
       strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000Z', strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000Z', 0
FROM purchases p WHERE p.quantity >= 1 AND p.amount_minor >= 0
GROUP BY p.product, p.currency ORDER BY MIN(p.id);

CREATE TEMPORARY TABLE migrated_orders AS
SELECT ROW_NUMBER() OVER (ORDER BY MIN(p.id)) AS id, p.customer_id, p.invoice, p.currency, MIN(p.purchased_at) AS at
FROM purchases p WHERE p.quantity >= 1 AND p.amount_minor >= 0
GROUP BY p.customer_id, p.invoice, p.currency;

CREATE TEMPORARY TABLE migrated_lines AS
SELECT o.id AS order_id, ROW_NUMBER() OVER (PARTITION BY o.id ORDER BY p.id) - 1 AS position, pr.id AS product_id, pr.sku, pr.name,
       p.quantity, (p.amount_minor + p.quantity - 1) / p.quantity AS unit,
       (p.amount_minor + p.quantity - 1) / p.quantity * p.quantity - p.amount_minor AS discount, p.amount_minor AS net
FROM purchases p
JOIN migrated_orders o ON o.customer_id = p.customer_id AND o.invoice = p.invoice AND o.currency = p.currency
JOIN products pr ON pr.name = p.product AND pr.currency = p.currency AND pr.sku LIKE 'MIGRATED-%'
WHERE p.quantity >= 1 AND p.amount_minor >= 0;

INSERT INTO orders (id, order_date, sort_name, customer_id, company_id, status, currency, owner_id, tax_rate_bp, lines, notes,
                    confirmed_at, paid_at, totals, total_minor, created_at, updated_at, change_seq)
SELECT o.id, substr(o.at, 1, 10), replace(substr(o.at, 1, 10), '-', ' '), o.customer_id, c.company_id, 'paid', o.currency, c.owner_id, 0,
       (SELECT json_group_array(json_object('product_id', l.product_id, 'sku', l.sku, 'name', l.name, 'quantity', l.quantity,
               'unit_price_minor', l.unit, 'discount_bp', 0, 'discount_minor', l.discount))
          FROM (SELECT * FROM migrated_lines WHERE order_id = o.id ORDER BY position) l),
       'Invoice ' || o.invoice, o.at, o.at,
       json_object('subtotal_minor', (SELECT SUM(unit * quantity) FROM migrated_lines WHERE order_id = o.id),
                   'discount_minor', (SELECT SUM(discount) FROM migrated_lines WHERE order_id = o.id),
                   'net_minor', (SELECT SUM(net) FROM migrated_lines WHERE order_id = o.id),
                   'tax_minor', 0,
                   'total_minor', (SELECT SUM(net) FROM migrated_lines WHERE order_id = o.id),
                   'lines', json((SELECT json_group_array(json_object('gross_minor', l.unit * l.quantity, 'discount_minor', l.discount, 'net_minor', l.net))
                                    FROM (SELECT * FROM migrated_lines WHERE order_id = o.id ORDER BY position) l))),
       (SELECT SUM(net) FROM migrated_lines WHERE order_id = o.id),
       strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000Z', strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000Z', 0
FROM migrated_orders o JOIN customers c ON c.id = o.customer_id;

INSERT INTO order_lines (order_id, position, product_id, sku, name, quantity, unit_price_minor, discount_bp, discount_minor, net_minor)
SELECT order_id, position, product_id, sku, name, quantity, unit, 0, discount, net FROM migrated_lines ORDER BY order_id, position;

DROP TABLE migrated_lines;
DROP TABLE migrated_orders;
DROP TABLE purchases;
