-- Pending device authorizations are capped per client address: count them from an index,
-- so a flood of pending rows from many addresses does not make every request scan them.
CREATE INDEX devices_pending_address ON devices (ip_address, expires) WHERE status = 'pending';
