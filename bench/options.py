"""What one benchmark run was asked for: run lengths, rounds, selection, seed sizes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Options:
    seconds: float
    rounds: int
    warm: bool
    work_dir: Path
    rate_limit_scale: str = "1000"
    only: tuple[str, ...] = ()
    seed_devices: int = 1_000_000
    seed_api_keys: int = 100_000
    revoked_tokens: int = 100_000

    def settings(self) -> dict[str, str]:
        return {
            "rate_limit_scale": self.rate_limit_scale,
            "device_auth_polling_interval": "1",
            "device_auth_timeout": "3600",
        }

    def selected(self, name: str) -> bool:
        """``--only``: a row runs when its name holds one of the parts (or none was given)."""
        return not self.only or any(part in name for part in self.only)
