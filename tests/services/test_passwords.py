"""argon2id hashing: verification work is the same for unknown users."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher

from zenml_server.services.passwords import Passwords


class CountingHasher(PasswordHasher):
    """A real argon2id hasher that counts the verifications it performs."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Any:
        self.verified.append(hash if isinstance(hash, str) else hash.decode())
        return super().verify(hash, password)


async def test_hash_is_argon2id_and_verifies() -> None:
    """A stored hash is argon2id, verifies its password and refuses another."""
    passwords = Passwords()
    stored = await passwords.hash("correct horse")
    assert stored.startswith("$argon2id$")
    assert await passwords.verify(stored, "correct horse")
    assert not await passwords.verify(stored, "wrong horse")
    passwords.close()


async def test_unknown_user_costs_one_verification_too() -> None:
    """With no stored hash (unknown user) a full argon2 verification still runs, and fails."""
    hasher = CountingHasher()
    passwords = Passwords(hasher)
    stored = await passwords.hash("pw-123456")
    assert not await passwords.verify(None, "pw-123456")
    assert await passwords.verify(stored, "pw-123456")
    assert len(hasher.verified) == 2
    assert all(h.startswith("$argon2id$") for h in hasher.verified)
    passwords.close()


async def test_garbage_hash_is_refused_not_raised() -> None:
    """A corrupt stored hash refuses the login instead of failing the request."""
    passwords = Passwords()
    assert not await passwords.verify("not-a-hash", "pw")
    passwords.close()
