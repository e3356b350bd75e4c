-- Deactivating an API key or a service account ends the tokens issued before it for good:
-- reactivating brings back the key, not tokens that were out while it was off.
ALTER TABLE api_keys ADD COLUMN tokens_valid_after DOUBLE PRECISION;
ALTER TABLE service_accounts ADD COLUMN tokens_valid_after DOUBLE PRECISION;
