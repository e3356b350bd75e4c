-- Security events, each written in the same transaction as the change it records.
-- Never a secret: targets are ids and names, detail is chosen, non-secret JSON.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    created DOUBLE PRECISION NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT,
    credential TEXT,
    target_kind TEXT,
    target_id TEXT,
    target_name TEXT,
    client_ip TEXT,
    request_id TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_created ON audit_events (created, id);
CREATE INDEX audit_events_actor ON audit_events (actor_id, created);
CREATE INDEX audit_events_target ON audit_events (target_id, created);
CREATE INDEX audit_events_action ON audit_events (action, created);

-- Set once the expiry of an API key has been recorded in the audit trail (by one replica).
ALTER TABLE api_keys ADD COLUMN expiry_recorded BOOLEAN NOT NULL DEFAULT FALSE;
