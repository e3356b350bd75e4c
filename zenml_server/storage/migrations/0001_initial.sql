-- The whole first schema. Times are POSIX seconds; ids are UUID strings.

CREATE TABLE server_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    credentials_generation INTEGER NOT NULL DEFAULT 0,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL
);

CREATE TABLE web_sessions (
    digest TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created DOUBLE PRECISION NOT NULL,
    expires DOUBLE PRECISION NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires);

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    approved BOOLEAN NOT NULL DEFAULT FALSE,
    device_code_digest TEXT NOT NULL UNIQUE,
    user_code_digest TEXT NOT NULL UNIQUE,
    trusted_device BOOLEAN NOT NULL DEFAULT FALSE,
    expires DOUBLE PRECISION NOT NULL,
    interval INTEGER NOT NULL,
    last_poll DOUBLE PRECISION,
    failed_auth_attempts INTEGER NOT NULL DEFAULT 0,
    hostname TEXT,
    os TEXT,
    python_version TEXT,
    client_version TEXT,
    ip_address TEXT,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL,
    last_login DOUBLE PRECISION
);
CREATE INDEX devices_user ON devices (user_id, created);
CREATE INDEX devices_status_expires ON devices (status, expires);

CREATE TABLE service_accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    service_account_id TEXT NOT NULL REFERENCES service_accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    key_digest TEXT NOT NULL UNIQUE,
    previous_key_digest TEXT UNIQUE,
    previous_expires DOUBLE PRECISION,
    generation INTEGER NOT NULL DEFAULT 0,
    retain_period_minutes INTEGER NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL,
    last_login DOUBLE PRECISION,
    last_rotated DOUBLE PRECISION,
    UNIQUE (service_account_id, name)
);
