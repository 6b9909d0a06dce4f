-- Sign-in and registration attempts, counted per client and per account in fixed windows
-- (src/auth/limits.rs). Kept in the database so that every instance counts the same attempts.
CREATE TABLE auth_attempts (
    bucket TEXT PRIMARY KEY NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL
);
