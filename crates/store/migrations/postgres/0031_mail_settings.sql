-- Issue 11 §2: the mail settings admins keep (SMTP relay, IMAP mailbox, From address, poll
-- interval), one row. `settings` is the JSON of the plain fields; the passwords are sealed like
-- other secrets. A field left out of `settings` falls back to the server's flags.
CREATE TABLE mail_settings (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    settings TEXT NOT NULL,
    smtp_password TEXT,
    imap_password TEXT,
    version BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);
