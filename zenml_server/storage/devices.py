"""Device authorizations and authorized devices (RFC 8628). Filled in by the device-flow work."""

from __future__ import annotations

from zenml_server.storage.db import Database


class DeviceStore:
    def __init__(self, db: Database) -> None:
        self._db = db
