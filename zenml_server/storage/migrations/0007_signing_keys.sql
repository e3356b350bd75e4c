-- Token signing keys, shared by every replica. ``material`` is sealed (encrypted with
-- ZENML_SERVER_ENCRYPTION_KEY when it is set); generation 0 is the HS256 secret an older
-- server generated, kept only to verify the tokens it signed.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    generation INTEGER NOT NULL UNIQUE,
    alg TEXT NOT NULL,
    material TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL
);

-- Access tokens revoked by their jti (RFC 7009), until they expire anyway.
CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY,
    expires DOUBLE PRECISION NOT NULL
);
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires);
