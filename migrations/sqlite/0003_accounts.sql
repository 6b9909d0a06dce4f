-- Accounts, the user's saved cart, token revocations and the shop's own settings.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE, -- the email in lower case: one account per address, ignoring case
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- "Sign out everywhere": credentials issued before this second (Unix) no longer count.
    credentials_valid_from INTEGER NOT NULL DEFAULT 0
);

-- A signed-in user's cart; a guest's cart has no user.
ALTER TABLE carts ADD COLUMN user_id INTEGER REFERENCES users (id) ON DELETE CASCADE;
CREATE UNIQUE INDEX carts_user_id ON carts (user_id);

-- Tokens signed out before they expire. Rows are useless after expires_at and are swept.
CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
