"""The benchmark on one engine: every scenario, the floods, whole device flows, the revoked
set, start-up."""

from __future__ import annotations

import asyncio
import statistics
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import floods, flows, revoked_set, scenarios, seed, wrk
from bench.options import Options
from bench.reference import prepare_database
from bench.runner import Load, Row, Side, run_pair
from bench.scenarios import Fixtures, Scenario, Target
from bench.servers import Server, database, running, start_ours, start_reference


@dataclass
class EngineResult:
    engine: str
    rows: list[Row] = field(default_factory=list)
    startup_s: list[float] = field(default_factory=list)
    idle_rss_mb: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "rows": [r.to_json() for r in self.rows],
            "startup_s": self.startup_s,
            "idle_rss_mb": self.idle_rss_mb,
            **self.extra,
        }

    def startup_summary(self) -> str:
        if not self.startup_s:
            return ""
        startup = statistics.median(self.startup_s)
        idle = statistics.median(self.idle_rss_mb)
        peaks = [
            r.ours.peak_rss_mb
            for r in self.rows
            if r.ours.peak_rss_mb is not None and r.rss_in_summary
        ]
        peak = max(peaks, default=0.0)

        def verdict(ok: bool) -> str:
            return "met" if ok else "MISSED"

        return (
            f"start-up (process start -> /health answers) over {len(self.startup_s)} starts: "
            f"median {startup:.2f} s, max {max(self.startup_s):.2f} s "
            f"(< 1 s: {verdict(startup < 1.0)}); idle RSS median {idle:.1f} MB "
            f"(< 60 MB: {verdict(idle < 60)}); peak RSS under load {peak:.1f} MB "
            f"(< 100 MB: {verdict(peak < 100)})"
        )


def _start(db_url: str, opts: Options, result: EngineResult, *, first: bool = False) -> Server:
    """Our server; a first start (migrations, admin password hashed) is not counted."""
    server = start_ours(db_url, opts.work_dir, **opts.settings())
    if not first:
        time.sleep(0.3)  # let the start-up tasks settle before reading the idle RSS
        result.startup_s.append(server.startup_seconds)
        result.idle_rss_mb.append(server.memory_mb().get("VmRSS", 0.0))
    return server


def run_scenario(
    sc: Scenario, db_url: str, fx: Fixtures, ref_db: Path, opts: Options, result: EngineResult
) -> Row:
    with ExitStack() as stack:
        ours = stack.enter_context(running(_start(db_url, opts, result)))
        ref = stack.enter_context(running(start_reference(sc.reference, opts.work_dir, ref_db)))
        pending = _pending(ours, sc)
        load = Load(opts.seconds, sc.connections, sc.threads, sc.count)
        mine, base = run_pair(
            (ours, sc.ours(fx, pending)),
            (ref, sc.reference_spec(fx, pending)),
            load,
            opts.rounds,
            labels=("ours", f"ref {sc.reference}"),
            warm=opts.warm,
        )
    return Row(sc.name, mine, base, sc.targets)


def run_device_flows(
    db_url: str, fx: Fixtures, opts: Options, result: EngineResult, concurrency: int
) -> Row:
    side = Side("ours")
    with running(_start(db_url, opts, result)) as ours:
        failures, flows_done, client_cpu = 0, 0, 0.0
        errors: list[str] = []
        for _ in range(opts.rounds):
            before, client_before = ours.cpu_seconds(), time.process_time()
            got = asyncio.run(flows.run_flows(ours.url, fx.admin_token, concurrency, opts.seconds))
            cpu = ours.cpu_seconds() - before
            client_cpu += time.process_time() - client_before
            flows_done += got.flows
            errors += got.errors
            side.rps.append(got.rate)
            side.p50_ms.append(got.percentile(50) or 0.0)
            side.p99_ms.append(got.percentile(99) or 0.0)
            side.cpu_ms.append(cpu * 1000 / max(1, got.flows))
            failures += got.failures
        side.peak_rss_mb = ours.memory_mb().get("VmHWM")
    targets = (Target(">= 100 flows/s", "rps", 100),) if concurrency >= 20 else ()
    row = Row(f"complete device flows, {concurrency} concurrent", side, None, targets)
    row.notes.append(
        "req/s = flows/s; latencies and CPU per whole flow (4 requests); the Python client "
        f"used {client_cpu * 1000 / max(1, flows_done):.1f} ms CPU per flow on the same machine"
    )
    if failures:
        row.notes.append(f"failed flows: {failures}, first: {errors[:1]}")
    return row


def run_engine(engine: str, opts: Options) -> EngineResult:
    result = EngineResult(engine)
    with database(engine, opts.work_dir) as db_url:
        with running(_start(db_url, opts, result, first=True)) as first:
            fx = asyncio.run(scenarios.prepare(first.url))
        ref_db = opts.work_dir / f"reference-{engine}.sqlite"
        prepare_database(str(ref_db), fx.reference_token)
        for sc in scenarios.SCENARIOS:
            if opts.selected(sc.name):
                _progress(engine, sc.name)
                result.rows.append(run_scenario(sc, db_url, fx, ref_db, opts, result))
        if opts.selected("current-user during password flood"):
            _progress(engine, "password flood")
            with running(_start(db_url, opts, result)) as ours:
                result.rows.append(floods.password_flood(ours, fx, opts))
        if opts.selected("current-user during failed-login flood"):
            _progress(engine, "failed-login flood")
            with running(_start(db_url, opts, result)) as ours:
                result.rows.append(floods.failed_flood(ours, db_url, fx, opts))
        for concurrency in (1, 20):
            if opts.selected("flows"):
                _progress(engine, f"device flows x{concurrency}")
                result.rows.append(run_device_flows(db_url, fx, opts, result, concurrency))
    if any(opts.selected(name) for name in revoked_set.names(opts.revoked_tokens)):
        _progress(engine, f"{opts.revoked_tokens} revoked tokens vs none")
        result.rows += revoked_set.run(engine, opts)
    return result


def run_seeded(engine: str, opts: Options) -> EngineResult:
    """The seeded scenarios on a seeded database (subject) against an empty one (baseline)."""
    result = EngineResult(f"{engine}, seeded vs empty")
    with ExitStack() as stack:
        empty_url = stack.enter_context(database(engine, opts.work_dir, "empty"))
        seeded_url = stack.enter_context(database(engine, opts.work_dir, "seeded"))
        empty = stack.enter_context(running(_start(empty_url, opts, result, first=True)))
        seeded = stack.enter_context(running(_start(seeded_url, opts, result, first=True)))
        _progress(engine, f"seeding {opts.seed_devices} devices, {opts.seed_api_keys} keys")
        took = seed.seed(seeded_url, opts.seed_devices, opts.seed_api_keys)
        result.extra["seed_seconds"] = took
        fx_empty = asyncio.run(scenarios.prepare(empty.url))
        fx_seeded = asyncio.run(scenarios.prepare(seeded.url))
        for name in scenarios.SEEDED:
            if not opts.selected(name):
                continue
            _progress(engine, f"seeded: {name}")
            sc = scenarios.by_name(name)
            pend_e = (
                asyncio.run(scenarios.pending_polls(empty.url, sc.pending)) if sc.pending else ()
            )
            pend_s = (
                asyncio.run(scenarios.pending_polls(seeded.url, sc.pending)) if sc.pending else ()
            )
            mine, base = run_pair(
                (seeded, sc.ours(fx_seeded, pend_s)),
                (empty, sc.ours(fx_empty, pend_e)),
                Load(opts.seconds, sc.connections, sc.threads, sc.count),
                opts.rounds,
                labels=("seeded", "empty database"),
                warm=opts.warm,
            )
            targets = (Target("seeded >= 0.9 x empty", "ratio", 0.9),)
            result.rows.append(Row(name, mine, base, targets))
    result.extra["seed_note"] = f"seeded in {took:.1f} s"
    return result


def run_soak(engine: str, opts: Options, seconds: float, every: float = 5.0) -> dict[str, Any]:
    """current-user (40 conns) and API-key logins (10) for ``seconds``; RSS sampled."""
    result = EngineResult(engine)
    with database(engine, opts.work_dir, "soak") as db_url:
        with running(_start(db_url, opts, result, first=True)) as ours:
            fx = asyncio.run(scenarios.prepare(ours.url))
            spec = scenarios.by_name("current-user device token").ours(fx, ())
            run = wrk.WrkRun(ours.url, spec, connections=40, threads=1, seconds=seconds)
            logins = wrk.WrkRun(
                ours.url,
                scenarios.by_name("API-key login").ours(fx, ()),
                connections=10,
                threads=1,
                seconds=seconds,
            )
            samples: list[tuple[float, float]] = []
            started = time.monotonic()
            while time.monotonic() - started < seconds:
                time.sleep(every)
                samples.append((time.monotonic() - started, ours.memory_mb().get("VmRSS", 0.0)))
            got = run.result()
            login_got = logins.result()
    first, last = samples[0][1], samples[-1][1]
    return {
        "engine": engine,
        "seconds": seconds,
        "requests": got.requests + login_got.requests,
        "rps": got.rps + login_got.rps,
        "rss_samples_mb": samples,
        "rss_first_mb": first,
        "rss_last_mb": last,
        "rss_max_mb": max(s[1] for s in samples),
        "growth_mb": last - first,
    }


def _pending(server: Server, sc: Scenario) -> tuple[str, ...]:
    if not sc.pending:
        return ()
    return asyncio.run(scenarios.pending_polls(server.url, sc.pending))


def _progress(engine: str, what: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {engine}: {what}", flush=True)
