-- Security: teams and record visibility, custom roles, login throttling, scoped API tokens.

CREATE TABLE teams (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    visibility TEXT NOT NULL DEFAULT 'private',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX teams_name_key ON teams (name);

CREATE TABLE team_members (
    team_id INTEGER NOT NULL REFERENCES teams (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_idx ON team_members (user_id);

CREATE TABLE roles (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX roles_name_key ON roles (name);

-- Failed sign-ins per email, shared by every server process.
CREATE TABLE login_throttle (
    email TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_start TEXT NOT NULL,
    locked_until TEXT
);

ALTER TABLE auth_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'read write';
CREATE INDEX auth_tokens_user_idx ON auth_tokens (user_id);
CREATE INDEX audit_log_at_idx ON audit_log (at);
