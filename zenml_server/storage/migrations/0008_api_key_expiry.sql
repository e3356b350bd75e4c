-- An API key may expire: from then on it (and every token made from it) is refused, like
-- an inactive key. NULL: it never expires.
ALTER TABLE api_keys ADD COLUMN expires_at DOUBLE PRECISION;
