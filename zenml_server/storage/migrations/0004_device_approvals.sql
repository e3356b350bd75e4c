-- Who approved a device, and who locked it (issue: a stolen device token must not outlive a
-- lock). approved_via: 'session' (a browser), 'password' (a password-login token) or
-- 'device' (another device's token, named by approved_by_device_id). locked_by: 'owner',
-- 'admin' or 'wrong_codes'; locked_because_of: the device whose lock or deletion cascaded.
-- client_name: the client program and version the device reported (User-Agent).
ALTER TABLE devices ADD COLUMN approved_via TEXT;
ALTER TABLE devices ADD COLUMN approved_by_device_id TEXT;
ALTER TABLE devices ADD COLUMN locked_by TEXT;
ALTER TABLE devices ADD COLUMN locked_because_of TEXT;
ALTER TABLE devices ADD COLUMN client_name TEXT;
CREATE INDEX devices_approved_by ON devices (approved_by_device_id);
CREATE INDEX devices_user_client ON devices (user_id, client_id);
