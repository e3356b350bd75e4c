"""The SQLite database file holds password hashes and digests: only its owner may read it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from zenml_server.storage.migrate import migrate
from zenml_server.storage.store import Store


async def test_database_and_wal_files_are_created_0600(tmp_path: Path) -> None:
    """A new database file and its -wal and -shm files are mode 0600, whatever the umask."""
    old = os.umask(0o022)
    try:
        store = await Store.open(f"sqlite:///{tmp_path}/db/zenml.sqlite")
        try:
            await migrate(store.db, 0.0)
            await store.users.create("ann", None, is_admin=False, active=True, now=1.0)
            files = sorted((tmp_path / "db").iterdir())
            names = {f.name for f in files}
            assert {"zenml.sqlite", "zenml.sqlite-wal", "zenml.sqlite-shm"} <= names
            for path in files:
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        finally:
            await store.close()
    finally:
        os.umask(old)
