-- Random keys the server itself makes on first use (today: the key of the web UI's CSRF
-- tokens). They live in the database, not in process memory, so every server process over
-- one database signs and checks the same tokens.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL
);
