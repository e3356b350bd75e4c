"""Service accounts and their API keys. Filled in by the service-account work."""

from __future__ import annotations

from zenml_server.storage.db import Database


class ServiceAccountStore:
    def __init__(self, db: Database) -> None:
        self._db = db
