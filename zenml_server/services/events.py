"""Counts of what happened in this process (device flows, logins), read by /metrics.

Counting is one dict update: no lock (one event loop), no I/O, nothing on the database.
"""

from __future__ import annotations


class Events:
    def __init__(self) -> None:
        # (counter name, label value) -> count
        self.counts: dict[tuple[str, str], int] = {}

    def inc(self, name: str, label: str) -> None:
        key = (name, label)
        self.counts[key] = self.counts.get(key, 0) + 1

    def get(self, name: str, label: str) -> int:
        return self.counts.get((name, label), 0)
