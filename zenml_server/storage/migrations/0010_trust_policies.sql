-- Keyless login for workloads (RFC 8693 token exchange): which platform tokens a service
-- account trusts, and which subject tokens were already exchanged (each is accepted once).

CREATE TABLE trust_policies (
    id TEXT PRIMARY KEY,
    service_account_id TEXT NOT NULL REFERENCES service_accounts (id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    audience TEXT NOT NULL,
    -- A JSON object: claim name -> exact value or glob pattern.
    claims TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created DOUBLE PRECISION NOT NULL
);
CREATE INDEX trust_policies_issuer ON trust_policies (issuer);
CREATE INDEX trust_policies_account ON trust_policies (service_account_id, created);

CREATE TABLE exchanged_subject_tokens (
    -- SHA-256 of the issuer and the token's jti (or of the whole token when it has none).
    digest TEXT PRIMARY KEY,
    expires DOUBLE PRECISION NOT NULL
);
CREATE INDEX exchanged_subject_tokens_expires ON exchanged_subject_tokens (expires);
