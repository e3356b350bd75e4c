-- Every change that can take a credential back, so that other processes (on SQLite, which
-- has no LISTEN/NOTIFY) drop what they cached. Pruned by the housekeeping sweep.
CREATE TABLE credential_changes (
    id BIGSERIAL PRIMARY KEY,
    entity TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL
);
