"""argon2id password hashing, run off the event loop.

Verification of an unknown user's password runs against a dummy hash, so a login for a user
that does not exist costs the same time as one for a user that does.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


def _default_workers() -> int:
    # Leave a core to the event loop: a flood of password logins must not starve requests.
    return max(1, (os.cpu_count() or 2) - 1)


class Passwords:
    """Hash and verify passwords in a small thread pool (argon2 releases the GIL)."""

    def __init__(self, hasher: PasswordHasher | None = None, *, workers: int | None = None) -> None:
        # OWASP's argon2id recommendation (m=19 MiB, t=2, p=1): a fraction of the library
        # default's 64 MiB per hash, so a burst of logins cannot balloon the process.
        self._hasher = hasher or PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
        workers = workers or _default_workers()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._dummy_hash = self._hasher.hash("not a real password")

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; with no hash (unknown user) spend the same time."""
        loop = asyncio.get_running_loop()
        target = password_hash or self._dummy_hash
        ok = await loop.run_in_executor(self._pool, self._check, target, password)
        return ok and password_hash is not None

    def _check(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
