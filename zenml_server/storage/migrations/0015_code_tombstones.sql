-- When housekeeping deletes a device authorization whose code expired unapproved, the digest
-- of its user code stays here for a day, so the approval page can say "this code has
-- expired" instead of "that code is not right". Pruned by housekeeping after keep_until.
CREATE TABLE device_code_tombstones (
    user_code_digest TEXT PRIMARY KEY,
    keep_until DOUBLE PRECISION NOT NULL
);
CREATE INDEX device_code_tombstones_keep_until ON device_code_tombstones (keep_until);
