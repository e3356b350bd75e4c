"""current-user alone, then while logins flood the same process: right passwords, or wrong
passwords and wrong API keys.

Each round: 25 connections of GETs alone, then the same while 25 more connections send the
flood (a wrk process per kind of login, all started together). The row's ratio is GETs
during / alone.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import asyncpg

from bench import client, scenarios, wrk
from bench.options import Options
from bench.runner import Row, Side
from bench.scenarios import Fixtures, Target
from bench.servers import ADMIN_PASSWORD, Server
from bench.wrk import RequestSpec
from zenml_server.domain.secrets import new_api_key

CONNECTIONS = 25
# Of the failed-login flood's 25 connections: wrong passwords on these, wrong API keys on the
# rest (an API-key failure is answered in about a millisecond, a password one after argon2).
PASSWORD_CONNECTIONS = 20
GETS_KEEP = (Target("GETs keep >= 0.5 of their throughput", "ratio", 0.5),)
LOGINS = "zenml_server_logins_total"
LOGIN_AUDIT = ("login.password", "login.api_key")


@dataclass(frozen=True)
class Stream:
    """One wrk process of the flood: what it sends and on how many connections."""

    label: str
    spec: RequestSpec
    connections: int


@dataclass
class Flood:
    alone: Side = field(default_factory=lambda: Side("current-user alone"))
    during: Side = field(default_factory=lambda: Side("during flood"))
    rps: dict[str, list[float]] = field(default_factory=dict)  # by stream
    counts: dict[str, Counter[str]] = field(default_factory=dict)  # by stream

    def total_rps(self) -> float:
        return sum(statistics.median(values) for values in self.rps.values())


def measure(ours: Server, get: RequestSpec, streams: Sequence[Stream], opts: Options) -> Flood:
    """``opts.rounds`` rounds of GETs alone, then GETs during the flood; the server's CPU
    time during the flood is shared out by requests."""
    got = Flood()
    for _ in range(opts.rounds):
        before = ours.cpu_seconds()
        solo = wrk.run(ours.url, get, connections=CONNECTIONS, threads=1, seconds=opts.seconds)
        got.alone.add(solo, ours.cpu_seconds() - before)
        before = ours.cpu_seconds()
        runs = [
            wrk.WrkRun(
                ours.url,
                stream.spec,
                connections=stream.connections,
                threads=1,
                seconds=opts.seconds,
                count=True,
            )
            for stream in streams
        ]
        gets = wrk.run(ours.url, get, connections=CONNECTIONS, threads=1, seconds=opts.seconds)
        flooded = [run.result() for run in runs]
        share = gets.requests / max(1, gets.requests + sum(f.requests for f in flooded))
        got.during.add(gets, (ours.cpu_seconds() - before) * share)
        for stream, result in zip(streams, flooded, strict=True):
            got.rps.setdefault(stream.label, []).append(result.rps)
            got.counts.setdefault(stream.label, Counter()).update(result.counts)
        time.sleep(2)  # aiohttp finishes the logins wrk gave up on, audit rows get flushed
    got.during.peak_rss_mb = ours.memory_mb().get("VmHWM")
    return got


def _get(fx: Fixtures) -> RequestSpec:
    return scenarios.by_name("current-user device token").ours(fx, ())


def password_flood(ours: Server, fx: Fixtures, opts: Options) -> Row:
    """Right passwords: every login is a whole argon2 verification and a token."""
    body = urlencode({"username": "admin", "password": ADMIN_PASSWORD})
    stream = Stream("password logins", _login_spec((body,)), CONNECTIONS)
    got = measure(ours, _get(fx), (stream,), opts)
    row = Row("current-user during password flood", got.during, got.alone, GETS_KEEP)
    row.notes.append(
        f"password logins/s during the flood: {got.total_rps():.0f} ({CONNECTIONS} conns)"
    )
    return row


def _login_spec(bodies: tuple[str, ...]) -> RequestSpec:
    return RequestSpec("POST", client.LOGIN, dict(scenarios.FORM), bodies)


def failed_streams(count: int = 64) -> tuple[Stream, Stream]:
    """Wrong passwords (for ``admin`` and for names that do not exist: an argon2 verification
    either way) on most connections, and well-formed API keys that match nothing (a digest
    lookup in the database) on the others, each as fast as the server answers."""
    passwords = tuple(
        urlencode(
            {"username": "admin" if i % 2 else f"nobody-{i}", "password": f"wrong-password-{i}"}
        )
        for i in range(count)
    )
    keys = tuple(
        urlencode({"grant_type": "zenml-api-key", "password": new_api_key()}) for _ in range(count)
    )
    return (
        Stream("wrong passwords", _login_spec(passwords), PASSWORD_CONNECTIONS),
        Stream("wrong API keys", _login_spec(keys), CONNECTIONS - PASSWORD_CONNECTIONS),
    )


def failed_flood(ours: Server, db_url: str, fx: Fixtures, opts: Options) -> Row:
    """Wrong passwords and wrong API keys: each failure is counted by the login throttle
    and queued for the audit trail. The notes say how many were real credential checks
    (the server's own login counters) and how many were refused with 429."""
    logins_before, audit_before = _logins(ours), audit_counts(db_url)
    streams = failed_streams()
    got = measure(ours, _get(fx), streams, opts)
    logins = _logins(ours) - logins_before
    audit = audit_counts(db_url) - audit_before
    row = Row("current-user during failed-login flood", got.during, got.alone, GETS_KEEP)
    rates = ", ".join(
        f"{s.label} {statistics.median(got.rps[s.label]):.0f}/s "
        f"({s.connections} conns; {_shares(got.counts[s.label])})"
        for s in streams
    )
    row.notes.append(f"failed logins during the flood: {got.total_rps():.0f}/s: {rates}")
    real = sum(v for k, v in logins.items() if k.endswith(":invalid_grant"))
    refused = sum(c.get("429", 0) for c in got.counts.values())
    row.notes.append(
        "server's login counters: "
        + ", ".join(f"{k}={v}" for k, v in sorted(logins.items()))
        + f"; real failed-credential checks {real} of {sum(logins.values())}, 429s {refused}"
    )
    written = sum(audit[f"{a}:failure"] for a in LOGIN_AUDIT)
    row.notes.append(
        f"audit rows written for failed logins: {written}; audit.dropped rows: "
        f"{audit['audit.dropped:failure']}, standing for {audit['dropped']} failures not kept"
    )
    row.figures.update(real_failures=real, refused_429=refused, audit_rows=written)
    return row


def _shares(counts: Counter[str]) -> str:
    total = sum(counts.values()) or 1
    return " ".join(f"{k}={v} ({100 * v / total:.0f}%)" for k, v in counts.most_common())


def _logins(server: Server) -> Counter[str]:
    """``zenml_server_logins_total`` by ``kind:outcome``."""
    found: Counter[str] = Counter()
    for sample, value in server.metrics().items():
        if sample.startswith(LOGINS + "{"):
            pairs = (part.split("=", 1) for part in sample[len(LOGINS) + 1 : -1].split(","))
            labels = {name: quoted.strip('"') for name, quoted in pairs}
            found[f"{labels['kind']}:{labels['outcome']}"] += int(value)
    return found


_AUDIT_SQL = "SELECT action, outcome, detail FROM audit_events WHERE action IN ({}, {}, {})"


def audit_counts(db_url: str) -> Counter[str]:
    """Audit rows by ``action:outcome`` for logins and ``audit.dropped``, and under
    ``dropped`` the failures the dropped-events rows stand for."""
    args = (*LOGIN_AUDIT, "audit.dropped")
    if db_url.startswith("sqlite:///"):
        conn = sqlite3.connect(db_url[len("sqlite:///") :], timeout=30)
        try:
            rows = conn.execute(_AUDIT_SQL.format("?", "?", "?"), args).fetchall()
        finally:
            conn.close()
    else:
        rows = asyncio.run(_pg_rows(db_url, args))
    counts: Counter[str] = Counter()
    for action, outcome, detail in rows:
        counts[f"{action}:{outcome}"] += 1
        if action == "audit.dropped":
            counts["dropped"] += int(json.loads(detail).get("count", 0))
    return counts


async def _pg_rows(db_url: str, args: tuple[str, ...]) -> list[tuple[str, str, str]]:
    conn = await asyncpg.connect(db_url)
    try:
        found = await conn.fetch(_AUDIT_SQL.format("$1", "$2", "$3"), *args)
        return [(r["action"], r["outcome"], r["detail"]) for r in found]
    finally:
        await conn.close()
