-- Single sign-on: a user is linked to an OpenID Connect account by (issuer, subject) only,
-- never by a name or an e-mail address.

CREATE TABLE user_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created DOUBLE PRECISION NOT NULL,
    last_login DOUBLE PRECISION,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);
