"""Measuring: wrk against a subject and its baseline in turn, round after round."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench import wrk
from bench.scenarios import Target
from bench.servers import Server
from bench.wrk import RequestSpec, WrkResult


@dataclass
class Side:
    """One server's figures over the rounds of a scenario."""

    label: str
    rps: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    socket_errors: int = 0
    non_2xx: int = 0
    peak_rss_mb: float | None = None

    def add(self, result: WrkResult, cpu_seconds: float) -> None:
        self.rps.append(result.rps)
        self.p50_ms.append(result.latency_us["p50"] / 1000)
        self.p99_ms.append(result.latency_us["p99"] / 1000)
        self.cpu_ms.append(cpu_seconds * 1000 / max(1, result.requests))
        self.counts.update(result.counts)
        self.socket_errors += result.socket_errors
        self.non_2xx += result.errors.get("status", 0)

    def median(self, name: str) -> float | None:
        values: list[float] = getattr(self, name)
        return statistics.median(values) if values else None

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "rps": self.median("rps"),
            "p50_ms": self.median("p50_ms"),
            "p99_ms": self.median("p99_ms"),
            "cpu_ms_per_request": self.median("cpu_ms"),
            "peak_rss_mb": self.peak_rss_mb,
            "rounds": {"rps": self.rps, "p50_ms": self.p50_ms, "p99_ms": self.p99_ms},
            "counts": dict(self.counts),
            "socket_errors": self.socket_errors,
            "non_2xx": self.non_2xx,
        }


@dataclass
class Row:
    """A scenario's result: our figures, the baseline's, and the targets."""

    scenario: str
    ours: Side
    baseline: Side | None = None
    targets: tuple[Target, ...] = ()
    notes: list[str] = field(default_factory=list)
    # Other figures a target may check (e.g. how many revoked jtis the server holds).
    figures: dict[str, float] = field(default_factory=dict)
    # False for a server on a database of its own making (the revoked set): its peak RSS is
    # in its notes, not in the engine's "peak RSS under load".
    rss_in_summary: bool = True

    @property
    def ratio(self) -> float | None:
        if self.baseline is None:
            return None
        ours, base = self.ours.median("rps"), self.baseline.median("rps")
        return ours / base if ours is not None and base else None

    def metric(self, name: str) -> float | None:
        if name == "ratio":
            return self.ratio
        if name == "p99_ms":
            return self.ours.median("p99_ms")
        if name == "rps":
            return self.ours.median("rps")
        return self.figures.get(name)

    def verdicts(self) -> list[tuple[str, bool | None]]:
        return [(t.what, t.met(self.metric(t.metric))) for t in self.targets]

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "ours": self.ours.summary(),
            "baseline": None if self.baseline is None else self.baseline.summary(),
            "ratio": self.ratio,
            "targets": [{"target": what, "met": met} for what, met in self.verdicts()],
            "notes": self.notes,
            "figures": self.figures,
        }


@dataclass(frozen=True)
class Load:
    seconds: float
    connections: int = 50
    threads: int = 2
    count: bool = False


def measure(server: Server, spec: RequestSpec, load: Load, side: Side) -> WrkResult:
    """One wrk run against ``server``; its CPU time is read from /proc around the run."""
    before = server.cpu_seconds()
    result = wrk.run(
        server.url,
        spec,
        connections=load.connections,
        threads=load.threads,
        seconds=load.seconds,
        count=load.count,
    )
    side.add(result, server.cpu_seconds() - before)
    return result


def warm_up(server: Server, spec: RequestSpec, load: Load) -> None:
    wrk.run(server.url, spec, connections=load.connections, threads=load.threads, seconds=1)


def run_pair(
    subject: tuple[Server, RequestSpec],
    baseline: tuple[Server, RequestSpec],
    load: Load,
    rounds: int,
    *,
    labels: tuple[str, str],
    warm: bool,
) -> tuple[Side, Side]:
    """Subject then baseline, ``rounds`` times: both see the same machine conditions."""
    ours, base = Side(labels[0]), Side(labels[1])
    if warm:
        for server, spec in (subject, baseline):
            warm_up(server, spec, load)
    for _ in range(rounds):
        measure(*subject, load, ours)
        measure(*baseline, load, base)
    ours.peak_rss_mb = subject[0].memory_mb().get("VmHWM")
    base.peak_rss_mb = baseline[0].memory_mb().get("VmHWM")
    return ours, base
